/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-e164"

#include "config.h"

#include "rc-e164.h"

#include <string.h>

#define TEST_MCC_FIRST 0
#define TEST_MCC_LAST 999

static void
test_valid (void)
{
  const char *valid[] = {
    "+4915112345678", "+14155552671",     "+79161234567", "+3545511234",
    "+2904123",       "+123456789012345", "+88213123456", "+861012345678",
  };
  const char *invalid[] = {
    NULL,
    "",
    "+",
    "+123456",           /* 6 digits: too short */
    "+1234567890123456", /* 16 digits: too long */
    "+49151abc5678",
    "+49 151 12345678",
    "4915112345678", /* no '+' */
    "+0915112345678",
    "++4915112345678",
    "+49151+2345678",
    "+4915112345678 ",
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    g_assert_true (rc_e164_is_valid (valid[i]));
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    g_assert_false (rc_e164_is_valid (invalid[i]));
}

static void
test_country_code (void)
{
  const struct {
    const char *number;
    const char *code;
  } cases[] = {
    /* one digit, NANP: United States, Canada, Caribbean */
    { "+14155552671", "1" },
    { "+16135550123", "1" },
    { "+18765550123", "1" },
    { "+18095550123", "1" },
    { "+16845550123", "1" },
    /* one digit, Russia and Kazakhstan */
    { "+79161234567", "7" },
    { "+77011234567", "7" },
    { "+77272123456", "7" },
    /* two digits */
    { "+4915112345678", "49" },
    { "+447700900123", "44" },
    { "+33612345678", "33" },
    { "+201001234567", "20" },
    { "+27821234567", "27" },
    { "+61412345678", "61" },
    { "+819012345678", "81" },
    { "+8613812345678", "86" },
    { "+919812345678", "91" },
    { "+989121234567", "98" },
    /* three digits */
    { "+3545511234", "354" },
    { "+353851234567", "353" },
    { "+380501234567", "380" },
    { "+38344123456", "383" },
    { "+2348031234567", "234" },
    { "+2904123", "290" },
    { "+5999123456", "599" },
    { "+6834002", "683" },
    { "+85291234567", "852" },
    { "+886912345678", "886" },
    { "+9715012345678", "971" },
    { "+998901234567", "998" },
    /* international networks and services */
    { "+80012345678", "800" },
    { "+881612345678", "881" },
    { "+88213123456", "882" },
    { "+88351001234", "883" },
    { "+8881234567890", "888" },
    { "+97912345678", "979" },
  };
  const char *none[] = {
    NULL,
    "",
    "4915112345678",
    "+0915112345678",
    "+281234567",    /* 28 is spare */
    "+2591234567",   /* 259 is spare */
    "+3841234567",   /* 384 is spare */
    "+4221234567",   /* 422 is spare */
    "+6711234567",   /* Guam moved to +1 671 */
    "+6841234567",   /* American Samoa moved to +1 684 */
    "+6931234567",   /* spare */
    "+8011234567",   /* spare */
    "+8711234567",   /* former Inmarsat code */
    "+8991234567",   /* 89 is spare */
    "+9691234567",   /* spare */
    "+9901234567",   /* spare */
    "+9991234567",   /* reserved */
    "+49151abc5678", /* invalid */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpstr (rc_e164_country_code (cases[i].number), ==, cases[i].code);
  for (guint i = 0; i < G_N_ELEMENTS (none); i++)
    g_assert_null (rc_e164_country_code (none[i]));
}

static void
test_same_country (void)
{
  const char *same[][2] = {
    { "+4915112345678", "+4930123456" }, { "+14155552671", "+16135550123" },
    { "+14155552671", "+18765550123" },  { "+79161234567", "+77011234567" },
    { "+3545511234", "+3546601234" },    { "+88213123456", "+88213999999" },
  };
  const char *different[][2] = {
    { "+4915112345678", "+4315112345678" },
    { "+14155552671", "+79161234567" },
    { "+3545511234", "+3535511234" },
    { "+88213123456", "+88351001234" },
    { "+4915112345678", NULL },
    { NULL, NULL },
    { "+6841234567", "+6841234567" }, /* spare code on both sides */
    { "4915112345678", "4915112345678" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (same); i++) {
    g_assert_true (rc_e164_same_country (same[i][0], same[i][1]));
    g_assert_true (rc_e164_same_country (same[i][1], same[i][0]));
  }
  for (guint i = 0; i < G_N_ELEMENTS (different); i++) {
    g_assert_false (rc_e164_same_country (different[i][0], different[i][1]));
    g_assert_false (rc_e164_same_country (different[i][1], different[i][0]));
  }
}

static void
test_mcc (void)
{
  const struct {
    const char *mcc;
    const char *code;
  } cases[] = {
    { "262", "49" },
    { "310", "1" },
    { "311", "1" },
    { "312", "1" },
    { "313", "1" },
    { "314", "1" },
    { "315", "1" },
    { "316", "1" },
    { "302", "1" },
    { "338", "1" },
    { "250", "7" },
    { "401", "7" },
    { "234", "44" },
    { "235", "44" },
    { "208", "33" },
    { "222", "39" },
    { "274", "354" },
    { "221", "383" },
    { "404", "91" },
    { "405", "91" },
    { "460", "86" },
    { "505", "61" },
    { "655", "27" },
    { "724", "55" },
    { "750", "500" },
    { "26201", "49" },           /* operator code */
    { "262011234567890", "49" }, /* IMSI */
  };
  const char *unknown[] = {
    NULL, "", "26", "2a2", "262a", "000", "001", "100", "999", "901", "259x",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpstr (rc_e164_country_code_for_mcc (cases[i].mcc), ==, cases[i].code);
  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++)
    g_assert_null (rc_e164_country_code_for_mcc (unknown[i]));
}

typedef struct {
  const char *raw;
  int toa;
  const char *country_code;
  const char *expected; /* NULL: an error */
} NormalizeCase;

static void
check_normalize_cases (const NormalizeCase *cases, guint n_cases)
{
  for (guint i = 0; i < n_cases; i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *number = NULL;

    g_test_message ("normalise \"%s\" toa %d country %s", cases[i].raw ? cases[i].raw : "(null)",
                    cases[i].toa, cases[i].country_code ? cases[i].country_code : "(null)");
    number = rc_e164_normalize (cases[i].raw, cases[i].toa, cases[i].country_code, &error);
    if (cases[i].expected != NULL) {
      g_assert_no_error (error);
      g_assert_cmpstr (number, ==, cases[i].expected);
      g_assert_true (rc_e164_is_valid (number));
    } else {
      g_assert_error (error, RC_E164_ERROR, RC_E164_ERROR_INVALID);
      g_assert_null (number);
      g_assert_nonnull (error->message);
      g_assert_cmpstr (error->message, !=, "");
    }
  }
}

static void
test_normalize_national (void)
{
  const NormalizeCase cases[] = {
    { "01511234567", RC_E164_TOA_UNKNOWN, "49", "+491511234567" },
    { "01511234567", RC_E164_TOA_NOT_KNOWN, "49", "+491511234567" },
    { "0151 123 456-78", RC_E164_TOA_UNKNOWN, "49", "+4915112345678" },
    { "(030) 123.456", RC_E164_TOA_UNKNOWN, "49", "+4930123456" },
    { "07700 900123", RC_E164_TOA_UNKNOWN, "44", "+447700900123" },
    /* type of address "national": the trunk prefix may be left out */
    { "1511234567", RC_E164_TOA_NATIONAL, "49", "+491511234567" },
    { "01511234567", RC_E164_TOA_NATIONAL, "49", "+491511234567" },
    /* without it and without TOA 161 the number is ambiguous */
    { "1511234567", RC_E164_TOA_UNKNOWN, "49", NULL },
    /* countries without a trunk prefix keep a leading 0 */
    { "0612345678", RC_E164_TOA_UNKNOWN, "39", "+390612345678" },
    { "3331234567", RC_E164_TOA_UNKNOWN, "39", "+393331234567" },
    { "612345678", RC_E164_TOA_UNKNOWN, "34", "+34612345678" },
    /* Hungary: trunk prefix 06 */
    { "06 30 123 4567", RC_E164_TOA_UNKNOWN, "36", "+36301234567" },
    /* Russia and Kazakhstan: trunk prefix 8, 10-digit numbers, 810 international prefix */
    { "89161234567", RC_E164_TOA_UNKNOWN, "7", "+79161234567" },
    { "9161234567", RC_E164_TOA_UNKNOWN, "7", "+79161234567" },
    { "79161234567", RC_E164_TOA_UNKNOWN, "7", "+79161234567" },
    { "8121234567", RC_E164_TOA_UNKNOWN, "7", "+78121234567" },
    { "8104915112345678", RC_E164_TOA_UNKNOWN, "7", "+4915112345678" },
    { "916123456", RC_E164_TOA_UNKNOWN, "7", NULL },
    /* a national number needs a valid country */
    { "01511234567", RC_E164_TOA_UNKNOWN, NULL, NULL },
    { "01511234567", RC_E164_TOA_UNKNOWN, "", NULL },
    { "01511234567", RC_E164_TOA_UNKNOWN, "259", NULL },
    { "01511234567", RC_E164_TOA_UNKNOWN, "+49", NULL },
  };

  check_normalize_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_normalize_international (void)
{
  const NormalizeCase cases[] = {
    { "+4915112345678", RC_E164_TOA_INTERNATIONAL, "49", "+4915112345678" },
    { "+4915112345678", RC_E164_TOA_UNKNOWN, NULL, "+4915112345678" },
    { "+49 151 1234 5678", RC_E164_TOA_NOT_KNOWN, "1", "+4915112345678" },
    { "+49 (0)151 12345678", RC_E164_TOA_UNKNOWN, "49", "+4915112345678" },
    { "  +14155552671  ", RC_E164_TOA_UNKNOWN, "49", "+14155552671" },
    { "004915112345678", RC_E164_TOA_UNKNOWN, "49", "+4915112345678" },
    { "0049 151 12345678", RC_E164_TOA_NOT_KNOWN, "44", "+4915112345678" },
    { "004915112345678", RC_E164_TOA_UNKNOWN, NULL, "+4915112345678" },
    /* TOA 145 without the '+' */
    { "4915112345678", RC_E164_TOA_INTERNATIONAL, "49", "+4915112345678" },
    { "4915112345678", RC_E164_TOA_INTERNATIONAL, NULL, "+4915112345678" },
    { "14155552671", RC_E164_TOA_INTERNATIONAL, "49", "+14155552671" },
    { "004915112345678", RC_E164_TOA_INTERNATIONAL, "49", "+4915112345678" },
    /* '+' numbers are checked too */
    { "+0915112345678", RC_E164_TOA_INTERNATIONAL, "49", NULL },
    { "+49151", RC_E164_TOA_INTERNATIONAL, "49", NULL },
    { "+4915112345678901", RC_E164_TOA_INTERNATIONAL, "49", NULL },
    { "+6841234567", RC_E164_TOA_INTERNATIONAL, "49", NULL }, /* unassigned code */
    { "00", RC_E164_TOA_UNKNOWN, "49", NULL },
  };

  check_normalize_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_normalize_nanp (void)
{
  const NormalizeCase cases[] = {
    { "4155552671", RC_E164_TOA_UNKNOWN, "1", "+14155552671" },
    { "(415) 555-2671", RC_E164_TOA_NOT_KNOWN, "1", "+14155552671" },
    { "14155552671", RC_E164_TOA_UNKNOWN, "1", "+14155552671" },
    { "1-415-555-2671", RC_E164_TOA_UNKNOWN, "1", "+14155552671" },
    { "4155552671", RC_E164_TOA_NATIONAL, "1", "+14155552671" },
    { "01149 151 12345678", RC_E164_TOA_UNKNOWN, "1", "+4915112345678" },
    { "011 44 7700 900123", RC_E164_TOA_UNKNOWN, "1", "+447700900123" },
    { "5552671", RC_E164_TOA_UNKNOWN, "1", NULL },      /* no area code */
    { "1155552671", RC_E164_TOA_UNKNOWN, "1", NULL },   /* area codes start with 2-9 */
    { "24155552671", RC_E164_TOA_UNKNOWN, "1", NULL },  /* 11 digits, no trunk prefix */
    { "141555526712", RC_E164_TOA_UNKNOWN, "1", NULL }, /* 12 digits */
    /* "011" is no international prefix outside NANP */
    { "01149151123456", RC_E164_TOA_UNKNOWN, "49", "+491149151123456" },
  };

  check_normalize_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_normalize_ucs2 (void)
{
  const NormalizeCase cases[] = {
    /* "+4915112345678" */
    { "002B0034003900310035003100310032003300340035003600370038", RC_E164_TOA_INTERNATIONAL, "49",
      "+4915112345678" },
    /* lower case hex */
    { "002b0034003900310035003100310032003300340035003600370038", RC_E164_TOA_UNKNOWN, NULL,
      "+4915112345678" },
    /* "01511234567", national: the usual rules apply after decoding */
    { "00300031003500310031003200330034003500360037", RC_E164_TOA_UNKNOWN, "49", "+491511234567" },
    /* not UCS2 (a character other than a digit or '+'): taken as it is and rejected */
    { "002B0034003900410035003100310032003300340035003600370038", RC_E164_TOA_UNKNOWN, "49", NULL },
    /* length not a multiple of 4 */
    { "002B003400390031003500310031003200330034003500360037003", RC_E164_TOA_UNKNOWN, "49", NULL },
  };

  check_normalize_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_normalize_withheld (void)
{
  const NormalizeCase cases[] = {
    { NULL, RC_E164_TOA_UNKNOWN, "49", NULL }, { NULL, RC_E164_TOA_NOT_KNOWN, NULL, NULL },
    { "", RC_E164_TOA_UNKNOWN, "49", NULL },   { "   ", RC_E164_TOA_UNKNOWN, "49", NULL },
    { "-", RC_E164_TOA_UNKNOWN, "49", NULL },  { "", RC_E164_TOA_INTERNATIONAL, "49", NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *number = NULL;

  check_normalize_cases (cases, G_N_ELEMENTS (cases));

  /* error may be NULL */
  number = rc_e164_normalize (NULL, RC_E164_TOA_UNKNOWN, "49", NULL);
  g_assert_null (number);
  number = rc_e164_normalize ("", RC_E164_TOA_UNKNOWN, "49", &error);
  g_assert_null (number);
  g_assert_error (error, RC_E164_ERROR, RC_E164_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "withheld"));
  g_assert_cmpstr (g_quark_to_string (RC_E164_ERROR), ==, "rc-e164-error-quark");
}

static void
test_normalize_garbage (void)
{
  const NormalizeCase cases[] = {
    { "abc", RC_E164_TOA_UNKNOWN, "49", NULL },
    { "Anonymous", RC_E164_TOA_NOT_KNOWN, "49", NULL },
    { "+49151abc5678", RC_E164_TOA_INTERNATIONAL, "49", NULL },
    { "0151/1234567", RC_E164_TOA_UNKNOWN, "49", NULL },
    { "+49+15112345678", RC_E164_TOA_UNKNOWN, "49", NULL },
    { "0151*1234567#", RC_E164_TOA_UNKNOWN, "49", NULL },
    { "01511", RC_E164_TOA_UNKNOWN, "49", NULL },             /* too short */
    { "01511234567890123", RC_E164_TOA_UNKNOWN, "49", NULL }, /* too long */
    { "0", RC_E164_TOA_UNKNOWN, "49", NULL },
    { "123", RC_E164_TOA_INTERNATIONAL, "49", NULL },
    { "0151\xc3\xa4"
      "1234567",
      RC_E164_TOA_UNKNOWN, "49", NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *number = NULL;

  check_normalize_cases (cases, G_N_ELEMENTS (cases));

  /* error messages never repeat the number (they may be logged) */
  number = rc_e164_normalize ("+4915112345678901", RC_E164_TOA_UNKNOWN, "49", &error);
  g_assert_null (number);
  g_assert_error (error, RC_E164_ERROR, RC_E164_ERROR_INVALID);
  g_assert_null (strstr (error->message, "15112345678901"));
}

static gboolean
is_assigned_code (const char *code)
{
  guint n_codes = 0;
  const char *const *codes = rc_e164_get_country_codes (&n_codes);

  for (guint i = 0; i < n_codes; i++) {
    if (strcmp (codes[i], code) == 0)
      return TRUE;
  }
  return FALSE;
}

static void
test_table (void)
{
  guint n_codes = 0;
  const char *const *codes = rc_e164_get_country_codes (&n_codes);
  guint n_by_length[4] = { 0 };

  g_assert_nonnull (codes);
  g_assert_cmpuint (n_codes, >, 200);

  for (guint i = 0; i < n_codes; i++) {
    gsize length = strlen (codes[i]);
    g_autofree char *number = NULL;

    /* 1 to 3 digits, no leading 0 */
    g_assert_cmpuint (length, >=, 1);
    g_assert_cmpuint (length, <=, 3);
    g_assert_cmpint (codes[i][0], >=, '1');
    g_assert_cmpint (codes[i][0], <=, '9');
    for (gsize j = 0; j < length; j++)
      g_assert_true (g_ascii_isdigit (codes[i][j]));
    n_by_length[length]++;

    /* strictly sorted (bsearch) */
    if (i > 0)
      g_assert_cmpint (strcmp (codes[i - 1], codes[i]), <, 0);

    /* prefix-free: no code is the prefix of another */
    for (guint j = 0; j < n_codes; j++) {
      if (i != j)
        g_assert_false (g_str_has_prefix (codes[j], codes[i]));
    }

    /* each code is found for a number that starts with it */
    number = g_strconcat ("+", codes[i], "1234567", NULL);
    g_assert_cmpstr (rc_e164_country_code (number), ==, codes[i]);
  }

  g_test_message ("%u country codes: %u of 1 digit, %u of 2, %u of 3", n_codes, n_by_length[1],
                  n_by_length[2], n_by_length[3]);
  g_assert_cmpuint (n_by_length[1], ==, 2);
  g_assert_true (is_assigned_code ("1"));
  g_assert_true (is_assigned_code ("7"));

  /* every MCC maps to an assigned country code */
  for (guint mcc = TEST_MCC_FIRST; mcc <= TEST_MCC_LAST; mcc++) {
    char text[4];
    const char *code;

    g_snprintf (text, sizeof (text), "%03u", mcc);
    code = rc_e164_country_code_for_mcc (text);
    if (code != NULL)
      g_assert_true (is_assigned_code (code));
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/rc/e164/valid", test_valid);
  g_test_add_func ("/rc/e164/country-code", test_country_code);
  g_test_add_func ("/rc/e164/same-country", test_same_country);
  g_test_add_func ("/rc/e164/mcc", test_mcc);
  g_test_add_func ("/rc/e164/normalize/national", test_normalize_national);
  g_test_add_func ("/rc/e164/normalize/international", test_normalize_international);
  g_test_add_func ("/rc/e164/normalize/nanp", test_normalize_nanp);
  g_test_add_func ("/rc/e164/normalize/ucs2", test_normalize_ucs2);
  g_test_add_func ("/rc/e164/normalize/withheld", test_normalize_withheld);
  g_test_add_func ("/rc/e164/normalize/garbage", test_normalize_garbage);
  g_test_add_func ("/rc/e164/table", test_table);

  return g_test_run ();
}
