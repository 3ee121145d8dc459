/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-e164"

#include "config.h"

#include "rc-e164.h"

#include <stdlib.h>
#include <string.h>

/**
 * rc-e164: E.164 phone numbers.
 *
 * Validation, country calling codes (for the same-country-code rule of POST /v1/calls/dial),
 * the MCC -> country calling code map (a SIM's country from its IMSI or operator code) and the
 * normalisation of caller numbers as modems report them (national formats, international
 * prefixes, ModemManager's undecoded UCS2) to E.164.
 *
 * Error messages never contain the number: callers may log them.
 */

#define RC_E164_MIN_DIGITS 7 /* E.164 has no minimum; +290 XXXX (Saint Helena) has 7 */
#define RC_E164_MAX_DIGITS 15
#define RC_E164_MAX_CODE_LENGTH 3
#define RC_E164_MCC_LENGTH 3
#define RC_E164_UCS2_HEX_WIDTH 4 /* hex digits per UCS2 character */
#define RC_E164_HEX_BASE 16
#define RC_E164_INTERNATIONAL_PREFIX "00"

/* Type of address octet: bit 8 is always set, bits 7..5 are the type of number */
#define RC_E164_TOA_EXTENSION_BIT 0x80
#define RC_E164_TOA_TON_SHIFT 4
#define RC_E164_TOA_TON_MASK 0x7
#define RC_E164_TON_INTERNATIONAL 1
#define RC_E164_TON_NATIONAL 2

/* clang-format would split the quark name at the dashes */
/* clang-format off */
G_DEFINE_QUARK (rc-e164-error-quark, rc_e164_error)
/* clang-format on */

/*
 * Assigned country calling codes, from the ITU-T E.164 list of assigned country codes
 * (Complement to ITU-T E.164, 2016 and later amendments published in the ITU Operational
 * Bulletin). Spare and reserved codes are left out, among them 28, 80, 83, 89, 210, 214, 215,
 * 217, 219, 259, 292-296, 384, 388 (the ETNS shared code, withdrawn), 422, 424-429, 671
 * (Guam, now +1 671), 684 (American Samoa, now +1 684), 693-699, 801-807, 809, 851, 854,
 * 857-859, 871-877 (former Inmarsat ocean codes and maritime reserve), 879, 884, 885, 887,
 * 889, 969, 978, 990 and 999.
 *
 * Sorted by strcmp () for bsearch (). The codes are a prefix code (no code is the prefix of
 * another), which is what makes the lookup by length in rc_e164_country_code () unambiguous.
 */
static const char *const country_codes[] = {
  "1",   /* NANP: United States, Canada, Caribbean and Pacific territories */
  "20",  /* Egypt */
  "211", /* South Sudan */
  "212", /* Morocco */
  "213", /* Algeria */
  "216", /* Tunisia */
  "218", /* Libya */
  "220", /* Gambia */
  "221", /* Senegal */
  "222", /* Mauritania */
  "223", /* Mali */
  "224", /* Guinea */
  "225", /* Cote d'Ivoire */
  "226", /* Burkina Faso */
  "227", /* Niger */
  "228", /* Togo */
  "229", /* Benin */
  "230", /* Mauritius */
  "231", /* Liberia */
  "232", /* Sierra Leone */
  "233", /* Ghana */
  "234", /* Nigeria */
  "235", /* Chad */
  "236", /* Central African Republic */
  "237", /* Cameroon */
  "238", /* Cabo Verde */
  "239", /* Sao Tome and Principe */
  "240", /* Equatorial Guinea */
  "241", /* Gabon */
  "242", /* Congo */
  "243", /* Democratic Republic of the Congo */
  "244", /* Angola */
  "245", /* Guinea-Bissau */
  "246", /* Diego Garcia */
  "247", /* Ascension */
  "248", /* Seychelles */
  "249", /* Sudan */
  "250", /* Rwanda */
  "251", /* Ethiopia */
  "252", /* Somalia */
  "253", /* Djibouti */
  "254", /* Kenya */
  "255", /* Tanzania */
  "256", /* Uganda */
  "257", /* Burundi */
  "258", /* Mozambique */
  "260", /* Zambia */
  "261", /* Madagascar */
  "262", /* Reunion, Mayotte */
  "263", /* Zimbabwe */
  "264", /* Namibia */
  "265", /* Malawi */
  "266", /* Lesotho */
  "267", /* Botswana */
  "268", /* Eswatini */
  "269", /* Comoros */
  "27",  /* South Africa */
  "290", /* Saint Helena, Tristan da Cunha */
  "291", /* Eritrea */
  "297", /* Aruba */
  "298", /* Faroe Islands */
  "299", /* Greenland */
  "30",  /* Greece */
  "31",  /* Netherlands */
  "32",  /* Belgium */
  "33",  /* France */
  "34",  /* Spain */
  "350", /* Gibraltar */
  "351", /* Portugal */
  "352", /* Luxembourg */
  "353", /* Ireland */
  "354", /* Iceland */
  "355", /* Albania */
  "356", /* Malta */
  "357", /* Cyprus */
  "358", /* Finland */
  "359", /* Bulgaria */
  "36",  /* Hungary */
  "370", /* Lithuania */
  "371", /* Latvia */
  "372", /* Estonia */
  "373", /* Moldova */
  "374", /* Armenia */
  "375", /* Belarus */
  "376", /* Andorra */
  "377", /* Monaco */
  "378", /* San Marino */
  "379", /* Vatican City State (assigned, not in use: +39 06 698) */
  "380", /* Ukraine */
  "381", /* Serbia */
  "382", /* Montenegro */
  "383", /* Kosovo */
  "385", /* Croatia */
  "386", /* Slovenia */
  "387", /* Bosnia and Herzegovina */
  "389", /* North Macedonia */
  "39",  /* Italy, Vatican City State */
  "40",  /* Romania */
  "41",  /* Switzerland */
  "420", /* Czechia */
  "421", /* Slovakia */
  "423", /* Liechtenstein */
  "43",  /* Austria */
  "44",  /* United Kingdom */
  "45",  /* Denmark */
  "46",  /* Sweden */
  "47",  /* Norway */
  "48",  /* Poland */
  "49",  /* Germany */
  "500", /* Falkland Islands */
  "501", /* Belize */
  "502", /* Guatemala */
  "503", /* El Salvador */
  "504", /* Honduras */
  "505", /* Nicaragua */
  "506", /* Costa Rica */
  "507", /* Panama */
  "508", /* Saint Pierre and Miquelon */
  "509", /* Haiti */
  "51",  /* Peru */
  "52",  /* Mexico */
  "53",  /* Cuba */
  "54",  /* Argentina */
  "55",  /* Brazil */
  "56",  /* Chile */
  "57",  /* Colombia */
  "58",  /* Venezuela */
  "590", /* Guadeloupe, Saint Barthelemy, Saint Martin */
  "591", /* Bolivia */
  "592", /* Guyana */
  "593", /* Ecuador */
  "594", /* French Guiana */
  "595", /* Paraguay */
  "596", /* Martinique */
  "597", /* Suriname */
  "598", /* Uruguay */
  "599", /* Curacao, Bonaire, Sint Eustatius, Saba */
  "60",  /* Malaysia */
  "61",  /* Australia */
  "62",  /* Indonesia */
  "63",  /* Philippines */
  "64",  /* New Zealand */
  "65",  /* Singapore */
  "66",  /* Thailand */
  "670", /* Timor-Leste */
  "672", /* Australian External Territories */
  "673", /* Brunei Darussalam */
  "674", /* Nauru */
  "675", /* Papua New Guinea */
  "676", /* Tonga */
  "677", /* Solomon Islands */
  "678", /* Vanuatu */
  "679", /* Fiji */
  "680", /* Palau */
  "681", /* Wallis and Futuna */
  "682", /* Cook Islands */
  "683", /* Niue */
  "685", /* Samoa */
  "686", /* Kiribati */
  "687", /* New Caledonia */
  "688", /* Tuvalu */
  "689", /* French Polynesia */
  "690", /* Tokelau */
  "691", /* Micronesia */
  "692", /* Marshall Islands */
  "7",   /* Russian Federation, Kazakhstan */
  "800", /* International Freephone Service */
  "808", /* International Shared Cost Service */
  "81",  /* Japan */
  "82",  /* Korea (Republic of) */
  "84",  /* Viet Nam */
  "850", /* Democratic People's Republic of Korea */
  "852", /* Hong Kong, China */
  "853", /* Macao, China */
  "855", /* Cambodia */
  "856", /* Lao People's Democratic Republic */
  "86",  /* China */
  "870", /* Inmarsat SNAC */
  "878", /* Universal Personal Telecommunication Service */
  "880", /* Bangladesh */
  "881", /* Global Mobile Satellite System */
  "882", /* International Networks */
  "883", /* International Networks */
  "886", /* Taiwan, China */
  "888", /* Telecommunications for Disaster Relief by OCHA */
  "90",  /* Turkiye */
  "91",  /* India */
  "92",  /* Pakistan */
  "93",  /* Afghanistan */
  "94",  /* Sri Lanka */
  "95",  /* Myanmar */
  "960", /* Maldives */
  "961", /* Lebanon */
  "962", /* Jordan */
  "963", /* Syrian Arab Republic */
  "964", /* Iraq */
  "965", /* Kuwait */
  "966", /* Saudi Arabia */
  "967", /* Yemen */
  "968", /* Oman */
  "970", /* Palestine */
  "971", /* United Arab Emirates */
  "972", /* Israel */
  "973", /* Bahrain */
  "974", /* Qatar */
  "975", /* Bhutan */
  "976", /* Mongolia */
  "977", /* Nepal */
  "979", /* International Premium Rate Service */
  "98",  /* Iran */
  "991", /* International Telecommunications Public Correspondence Service trial */
  "992", /* Tajikistan */
  "993", /* Turkmenistan */
  "994", /* Azerbaijan */
  "995", /* Georgia */
  "996", /* Kyrgyzstan */
  "997", /* Kazakhstan (reserved 2021, not in use: Kazakhstan stays on +7) */
  "998", /* Uzbekistan */
};

typedef struct {
  const char *mcc;
  const char *country_code;
} RcMccEntry;

/*
 * Mobile country codes (ITU-T E.212, List of mobile country or geographical area codes) of
 * the countries and territories with a public mobile network, with the country calling code
 * their subscribers' numbers carry. Where one MCC serves several calling codes, the code of
 * the largest part is given. Sorted by MCC.
 */
static const RcMccEntry mcc_table[] = {
  { "202", "30" },  /* Greece */
  { "204", "31" },  /* Netherlands */
  { "206", "32" },  /* Belgium */
  { "208", "33" },  /* France */
  { "212", "377" }, /* Monaco */
  { "213", "376" }, /* Andorra */
  { "214", "34" },  /* Spain */
  { "216", "36" },  /* Hungary */
  { "218", "387" }, /* Bosnia and Herzegovina */
  { "219", "385" }, /* Croatia */
  { "220", "381" }, /* Serbia */
  { "221", "383" }, /* Kosovo */
  { "222", "39" },  /* Italy */
  { "225", "39" },  /* Vatican City State (Italian numbering) */
  { "226", "40" },  /* Romania */
  { "228", "41" },  /* Switzerland */
  { "230", "420" }, /* Czechia */
  { "231", "421" }, /* Slovakia */
  { "232", "43" },  /* Austria */
  { "234", "44" },  /* United Kingdom */
  { "235", "44" },  /* United Kingdom */
  { "238", "45" },  /* Denmark */
  { "240", "46" },  /* Sweden */
  { "242", "47" },  /* Norway */
  { "244", "358" }, /* Finland */
  { "246", "370" }, /* Lithuania */
  { "247", "371" }, /* Latvia */
  { "248", "372" }, /* Estonia */
  { "250", "7" },   /* Russian Federation */
  { "255", "380" }, /* Ukraine */
  { "257", "375" }, /* Belarus */
  { "259", "373" }, /* Moldova */
  { "260", "48" },  /* Poland */
  { "262", "49" },  /* Germany */
  { "266", "350" }, /* Gibraltar */
  { "268", "351" }, /* Portugal */
  { "270", "352" }, /* Luxembourg */
  { "272", "353" }, /* Ireland */
  { "274", "354" }, /* Iceland */
  { "276", "355" }, /* Albania */
  { "278", "356" }, /* Malta */
  { "280", "357" }, /* Cyprus */
  { "282", "995" }, /* Georgia */
  { "283", "374" }, /* Armenia */
  { "284", "359" }, /* Bulgaria */
  { "286", "90" },  /* Turkiye */
  { "288", "298" }, /* Faroe Islands */
  { "290", "299" }, /* Greenland */
  { "292", "378" }, /* San Marino */
  { "293", "386" }, /* Slovenia */
  { "294", "389" }, /* North Macedonia */
  { "295", "423" }, /* Liechtenstein */
  { "297", "382" }, /* Montenegro */
  { "302", "1" },   /* Canada */
  { "308", "508" }, /* Saint Pierre and Miquelon */
  { "310", "1" },   /* United States */
  { "311", "1" },   /* United States */
  { "312", "1" },   /* United States */
  { "313", "1" },   /* United States */
  { "314", "1" },   /* United States */
  { "315", "1" },   /* United States */
  { "316", "1" },   /* United States */
  { "330", "1" },   /* Puerto Rico */
  { "332", "1" },   /* United States Virgin Islands */
  { "334", "52" },  /* Mexico */
  { "338", "1" },   /* Jamaica */
  { "340", "590" }, /* French Antilles (also +594 French Guiana, +596 Martinique) */
  { "342", "1" },   /* Barbados */
  { "344", "1" },   /* Antigua and Barbuda */
  { "346", "1" },   /* Cayman Islands */
  { "348", "1" },   /* British Virgin Islands */
  { "350", "1" },   /* Bermuda */
  { "352", "1" },   /* Grenada */
  { "354", "1" },   /* Montserrat */
  { "356", "1" },   /* Saint Kitts and Nevis */
  { "358", "1" },   /* Saint Lucia */
  { "360", "1" },   /* Saint Vincent and the Grenadines */
  { "362", "599" }, /* Curacao, Bonaire (Sint Maarten is +1 721) */
  { "363", "297" }, /* Aruba */
  { "364", "1" },   /* Bahamas */
  { "365", "1" },   /* Anguilla */
  { "366", "1" },   /* Dominica */
  { "368", "53" },  /* Cuba */
  { "370", "1" },   /* Dominican Republic */
  { "372", "509" }, /* Haiti */
  { "374", "1" },   /* Trinidad and Tobago */
  { "376", "1" },   /* Turks and Caicos Islands */
  { "400", "994" }, /* Azerbaijan */
  { "401", "7" },   /* Kazakhstan */
  { "402", "975" }, /* Bhutan */
  { "404", "91" },  /* India */
  { "405", "91" },  /* India */
  { "410", "92" },  /* Pakistan */
  { "412", "93" },  /* Afghanistan */
  { "413", "94" },  /* Sri Lanka */
  { "414", "95" },  /* Myanmar */
  { "415", "961" }, /* Lebanon */
  { "416", "962" }, /* Jordan */
  { "417", "963" }, /* Syrian Arab Republic */
  { "418", "964" }, /* Iraq */
  { "419", "965" }, /* Kuwait */
  { "420", "966" }, /* Saudi Arabia */
  { "421", "967" }, /* Yemen */
  { "422", "968" }, /* Oman */
  { "424", "971" }, /* United Arab Emirates */
  { "425", "972" }, /* Israel */
  { "426", "973" }, /* Bahrain */
  { "427", "974" }, /* Qatar */
  { "428", "976" }, /* Mongolia */
  { "429", "977" }, /* Nepal */
  { "430", "971" }, /* United Arab Emirates (Abu Dhabi) */
  { "431", "971" }, /* United Arab Emirates (Dubai) */
  { "432", "98" },  /* Iran */
  { "434", "998" }, /* Uzbekistan */
  { "436", "992" }, /* Tajikistan */
  { "437", "996" }, /* Kyrgyzstan */
  { "438", "993" }, /* Turkmenistan */
  { "440", "81" },  /* Japan */
  { "441", "81" },  /* Japan */
  { "450", "82" },  /* Korea (Republic of) */
  { "452", "84" },  /* Viet Nam */
  { "454", "852" }, /* Hong Kong, China */
  { "455", "853" }, /* Macao, China */
  { "456", "855" }, /* Cambodia */
  { "457", "856" }, /* Lao People's Democratic Republic */
  { "460", "86" },  /* China */
  { "461", "86" },  /* China */
  { "466", "886" }, /* Taiwan, China */
  { "467", "850" }, /* Democratic People's Republic of Korea */
  { "470", "880" }, /* Bangladesh */
  { "472", "960" }, /* Maldives */
  { "502", "60" },  /* Malaysia */
  { "505", "61" },  /* Australia */
  { "510", "62" },  /* Indonesia */
  { "514", "670" }, /* Timor-Leste */
  { "515", "63" },  /* Philippines */
  { "520", "66" },  /* Thailand */
  { "525", "65" },  /* Singapore */
  { "528", "673" }, /* Brunei Darussalam */
  { "530", "64" },  /* New Zealand */
  { "534", "1" },   /* Northern Mariana Islands */
  { "535", "1" },   /* Guam */
  { "536", "674" }, /* Nauru */
  { "537", "675" }, /* Papua New Guinea */
  { "539", "676" }, /* Tonga */
  { "540", "677" }, /* Solomon Islands */
  { "541", "678" }, /* Vanuatu */
  { "542", "679" }, /* Fiji */
  { "543", "681" }, /* Wallis and Futuna */
  { "544", "1" },   /* American Samoa */
  { "545", "686" }, /* Kiribati */
  { "546", "687" }, /* New Caledonia */
  { "547", "689" }, /* French Polynesia */
  { "548", "682" }, /* Cook Islands */
  { "549", "685" }, /* Samoa */
  { "550", "691" }, /* Micronesia */
  { "551", "692" }, /* Marshall Islands */
  { "552", "680" }, /* Palau */
  { "553", "688" }, /* Tuvalu */
  { "554", "690" }, /* Tokelau */
  { "555", "683" }, /* Niue */
  { "602", "20" },  /* Egypt */
  { "603", "213" }, /* Algeria */
  { "604", "212" }, /* Morocco */
  { "605", "216" }, /* Tunisia */
  { "606", "218" }, /* Libya */
  { "607", "220" }, /* Gambia */
  { "608", "221" }, /* Senegal */
  { "609", "222" }, /* Mauritania */
  { "610", "223" }, /* Mali */
  { "611", "224" }, /* Guinea */
  { "612", "225" }, /* Cote d'Ivoire */
  { "613", "226" }, /* Burkina Faso */
  { "614", "227" }, /* Niger */
  { "615", "228" }, /* Togo */
  { "616", "229" }, /* Benin */
  { "617", "230" }, /* Mauritius */
  { "618", "231" }, /* Liberia */
  { "619", "232" }, /* Sierra Leone */
  { "620", "233" }, /* Ghana */
  { "621", "234" }, /* Nigeria */
  { "622", "235" }, /* Chad */
  { "623", "236" }, /* Central African Republic */
  { "624", "237" }, /* Cameroon */
  { "625", "238" }, /* Cabo Verde */
  { "626", "239" }, /* Sao Tome and Principe */
  { "627", "240" }, /* Equatorial Guinea */
  { "628", "241" }, /* Gabon */
  { "629", "242" }, /* Congo */
  { "630", "243" }, /* Democratic Republic of the Congo */
  { "631", "244" }, /* Angola */
  { "632", "245" }, /* Guinea-Bissau */
  { "633", "248" }, /* Seychelles */
  { "634", "249" }, /* Sudan */
  { "635", "250" }, /* Rwanda */
  { "636", "251" }, /* Ethiopia */
  { "637", "252" }, /* Somalia */
  { "638", "253" }, /* Djibouti */
  { "639", "254" }, /* Kenya */
  { "640", "255" }, /* Tanzania */
  { "641", "256" }, /* Uganda */
  { "642", "257" }, /* Burundi */
  { "643", "258" }, /* Mozambique */
  { "645", "260" }, /* Zambia */
  { "646", "261" }, /* Madagascar */
  { "647", "262" }, /* Reunion, Mayotte */
  { "648", "263" }, /* Zimbabwe */
  { "649", "264" }, /* Namibia */
  { "650", "265" }, /* Malawi */
  { "651", "266" }, /* Lesotho */
  { "652", "267" }, /* Botswana */
  { "653", "268" }, /* Eswatini */
  { "654", "269" }, /* Comoros */
  { "655", "27" },  /* South Africa */
  { "657", "291" }, /* Eritrea */
  { "658", "290" }, /* Saint Helena, Ascension and Tristan da Cunha */
  { "659", "211" }, /* South Sudan */
  { "702", "501" }, /* Belize */
  { "704", "502" }, /* Guatemala */
  { "706", "503" }, /* El Salvador */
  { "708", "504" }, /* Honduras */
  { "710", "505" }, /* Nicaragua */
  { "712", "506" }, /* Costa Rica */
  { "714", "507" }, /* Panama */
  { "716", "51" },  /* Peru */
  { "722", "54" },  /* Argentina */
  { "724", "55" },  /* Brazil */
  { "730", "56" },  /* Chile */
  { "732", "57" },  /* Colombia */
  { "734", "58" },  /* Venezuela */
  { "736", "591" }, /* Bolivia */
  { "738", "592" }, /* Guyana */
  { "740", "593" }, /* Ecuador */
  { "742", "594" }, /* French Guiana */
  { "744", "595" }, /* Paraguay */
  { "746", "597" }, /* Suriname */
  { "748", "598" }, /* Uruguay */
  { "750", "500" }, /* Falkland Islands */
};

/*
 * How national numbers are written in a country: the trunk prefix dialled before a national
 * number ("" when the country has none and a leading 0 belongs to the number), an international
 * prefix used besides "00", and the fixed length of the national significant number (0 when it
 * varies). Countries not listed use the trunk prefix "0".
 */
typedef struct {
  const char *country_code;
  const char *trunk_prefix;
  const char *international_prefix;
  guint nsn_length;
  const char *nsn_first_digits; /* NULL: any */
} RcNationalPlan;

static const RcNationalPlan default_plan = { NULL, "0", NULL, 0, NULL };

static const RcNationalPlan national_plans[] = {
  { "1", "1", "011", 10, "23456789" }, /* NANP: area codes start with 2-9 */
  { "7", "8", "810", 10, NULL },       /* Russia, Kazakhstan */
  { "36", "06", NULL, 0, NULL },       /* Hungary */
  /* Closed numbering plans without a trunk prefix */
  { "30", "", NULL, 0, NULL },  /* Greece */
  { "34", "", NULL, 0, NULL },  /* Spain */
  { "39", "", NULL, 0, NULL },  /* Italy: landlines keep their leading 0 */
  { "45", "", NULL, 0, NULL },  /* Denmark */
  { "47", "", NULL, 0, NULL },  /* Norway */
  { "48", "", NULL, 0, NULL },  /* Poland */
  { "298", "", NULL, 0, NULL }, /* Faroe Islands */
  { "299", "", NULL, 0, NULL }, /* Greenland */
  { "351", "", NULL, 0, NULL }, /* Portugal */
  { "352", "", NULL, 0, NULL }, /* Luxembourg */
  { "354", "", NULL, 0, NULL }, /* Iceland */
  { "356", "", NULL, 0, NULL }, /* Malta */
  { "357", "", NULL, 0, NULL }, /* Cyprus */
  { "371", "", NULL, 0, NULL }, /* Latvia */
  { "372", "", NULL, 0, NULL }, /* Estonia */
  { "376", "", NULL, 0, NULL }, /* Andorra */
  { "377", "", NULL, 0, NULL }, /* Monaco */
  { "378", "", NULL, 0, NULL }, /* San Marino: numbers start with 0549 */
  { "420", "", NULL, 0, NULL }, /* Czechia */
  { "423", "", NULL, 0, NULL }, /* Liechtenstein */
};

static int
compare_strings (const void *key, const void *element)
{
  return strcmp (key, *(const char *const *)element);
}

/* The table entry for @code (a string of digits), or NULL if it is not an assigned code */
static const char *
lookup_country_code (const char *code)
{
  const char *const *entry = bsearch (code, country_codes, G_N_ELEMENTS (country_codes),
                                      sizeof (country_codes[0]), compare_strings);

  return entry != NULL ? *entry : NULL;
}

static const RcNationalPlan *
lookup_national_plan (const char *country_code)
{
  for (guint i = 0; i < G_N_ELEMENTS (national_plans); i++) {
    if (strcmp (national_plans[i].country_code, country_code) == 0)
      return &national_plans[i];
  }
  return &default_plan;
}

static gboolean
is_digits (const char *text)
{
  for (const char *p = text; *p != '\0'; p++) {
    if (!g_ascii_isdigit (*p))
      return FALSE;
  }
  return TRUE;
}

/* The type of number of a type of address octet, 0 (unknown) when there is none */
static int
toa_type_of_number (int toa)
{
  if (toa < RC_E164_TOA_EXTENSION_BIT || toa > G_MAXUINT8)
    return 0;
  return (toa >> RC_E164_TOA_TON_SHIFT) & RC_E164_TOA_TON_MASK;
}

/*
 * ModemManager passes numbers through undecoded when the modem uses the UCS2 character set:
 * four hex digits per character ("002B0034" is "+4"). Returns the decoded number, or NULL when
 * @text is not in that form (every character must decode to a digit or '+').
 */
static char *
decode_ucs2_hex (const char *text)
{
  g_autoptr (GString) decoded = NULL;
  gsize length = strlen (text);

  if (length == 0 || length % RC_E164_UCS2_HEX_WIDTH != 0)
    return NULL;

  decoded = g_string_sized_new (length / RC_E164_UCS2_HEX_WIDTH);
  for (gsize i = 0; i < length; i += RC_E164_UCS2_HEX_WIDTH) {
    guint value = 0;

    for (gsize j = i; j < i + RC_E164_UCS2_HEX_WIDTH; j++) {
      if (!g_ascii_isxdigit (text[j]))
        return NULL;
      value = value * RC_E164_HEX_BASE + g_ascii_xdigit_value (text[j]);
    }
    if (value != '+' && (value < '0' || value > '9'))
      return NULL;
    g_string_append_c (decoded, (char)value);
  }
  return g_string_free (g_steal_pointer (&decoded), FALSE);
}

static gboolean
is_separator (char c)
{
  return g_ascii_isspace (c) || c == '-' || c == '.' || c == '(' || c == ')';
}

/*
 * Drops separators and checks that only digits and one leading '+' remain. In an international
 * number a trunk prefix in parentheses ("+49 (0)151 ...") is not dialled, so it is dropped too.
 */
static char *
strip_separators (const char *text, GError **error)
{
  g_autoptr (GString) digits = g_string_sized_new (strlen (text));

  for (const char *p = text; *p != '\0'; p++) {
    if (digits->str[0] == '+' && g_str_has_prefix (p, "(0)")) {
      p += strlen ("(0)") - 1;
      continue;
    }
    if (is_separator (*p))
      continue;
    if (*p == '+' && digits->len > 0) {
      g_set_error_literal (error, RC_E164_ERROR, RC_E164_ERROR_INVALID,
                           "'+' is only allowed at the start of a number");
      return NULL;
    }
    if (*p != '+' && !g_ascii_isdigit (*p)) {
      g_set_error_literal (error, RC_E164_ERROR, RC_E164_ERROR_INVALID,
                           "Number contains characters other than digits");
      return NULL;
    }
    g_string_append_c (digits, *p);
  }
  return g_string_free (g_steal_pointer (&digits), FALSE);
}

/* A national number (no international prefix) of the country with @country_code in E.164 */
static char *
national_to_international (const char *digits,
                           int type_of_number,
                           const char *country_code,
                           GError **error)
{
  const RcNationalPlan *plan = lookup_national_plan (country_code);
  gsize trunk_length = strlen (plan->trunk_prefix);
  gsize length = strlen (digits);

  if (plan->nsn_length > 0) {
    const char *nsn = NULL;

    if (length == plan->nsn_length)
      nsn = digits;
    else if (length == trunk_length + plan->nsn_length
             && g_str_has_prefix (digits, plan->trunk_prefix))
      nsn = digits + trunk_length;
    else if (length == strlen (country_code) + plan->nsn_length
             && g_str_has_prefix (digits, country_code))
      nsn = digits + strlen (country_code);

    if (nsn == NULL
        || (plan->nsn_first_digits != NULL && strchr (plan->nsn_first_digits, *nsn) == NULL)) {
      g_set_error (error, RC_E164_ERROR, RC_E164_ERROR_INVALID,
                   "Number is not a national number of +%s (%u digits expected)", country_code,
                   plan->nsn_length);
      return NULL;
    }
    return g_strconcat ("+", country_code, nsn, NULL);
  }

  if (trunk_length == 0)
    return g_strconcat ("+", country_code, digits, NULL);
  if (g_str_has_prefix (digits, plan->trunk_prefix))
    return g_strconcat ("+", country_code, digits + trunk_length, NULL);
  if (type_of_number == RC_E164_TON_NATIONAL)
    return g_strconcat ("+", country_code, digits, NULL);

  g_set_error (error, RC_E164_ERROR, RC_E164_ERROR_INVALID,
               "Number has neither an international prefix nor the trunk prefix %s of +%s",
               plan->trunk_prefix, country_code);
  return NULL;
}

/* @digits (digits and perhaps a leading '+') in international form, not yet validated */
static char *
to_international (const char *digits, int toa, const char *country_code, GError **error)
{
  const RcNationalPlan *plan = NULL;
  int type_of_number = toa_type_of_number (toa);

  if (digits[0] == '+')
    return g_strdup (digits);
  if (g_str_has_prefix (digits, RC_E164_INTERNATIONAL_PREFIX))
    return g_strconcat ("+", digits + strlen (RC_E164_INTERNATIONAL_PREFIX), NULL);

  if (country_code != NULL && lookup_country_code (country_code) != NULL)
    plan = lookup_national_plan (country_code);
  if (plan != NULL && plan->international_prefix != NULL
      && g_str_has_prefix (digits, plan->international_prefix))
    return g_strconcat ("+", digits + strlen (plan->international_prefix), NULL);

  if (type_of_number == RC_E164_TON_INTERNATIONAL)
    return g_strconcat ("+", digits, NULL);

  if (plan == NULL) {
    g_set_error_literal (error, RC_E164_ERROR, RC_E164_ERROR_INVALID,
                         "National number, but no valid country calling code to resolve it");
    return NULL;
  }
  return national_to_international (digits, type_of_number, country_code, error);
}

/**
 * rc_e164_is_valid:
 * @number: (nullable): a phone number
 *
 * Checks the E.164 form: '+', a first digit 1-9, 7 to 15 digits in all (E.164 allows at most
 * 15; the minimum admits the 4-digit subscriber numbers of the smallest plans), nothing else.
 * Whether the country calling code is assigned is rc_e164_country_code ()'s business.
 *
 * Returns: %TRUE if @number is in E.164 form
 */
gboolean
rc_e164_is_valid (const char *number)
{
  gsize digits;

  if (number == NULL || number[0] != '+' || number[1] < '1' || number[1] > '9')
    return FALSE;
  if (!is_digits (number + 1))
    return FALSE;
  digits = strlen (number + 1);
  return digits >= RC_E164_MIN_DIGITS && digits <= RC_E164_MAX_DIGITS;
}

/**
 * rc_e164_country_code:
 * @number: (nullable): an E.164 number
 *
 * "+4915112345678" gives "49", "+14155552671" "1", "+3545511234" "354", "+88213..." "882".
 * The shared zones +1 (NANP) and +7 (Russia, Kazakhstan) are one code each.
 *
 * Returns: (transfer none) (nullable): the country calling code, or %NULL if @number is not
 *   valid or starts with a spare code
 */
const char *
rc_e164_country_code (const char *number)
{
  if (!rc_e164_is_valid (number))
    return NULL;

  /* A prefix code: at most one of the 1-, 2- and 3-digit prefixes is assigned */
  for (gsize length = 1; length <= RC_E164_MAX_CODE_LENGTH; length++) {
    char prefix[RC_E164_MAX_CODE_LENGTH + 1] = { 0 };
    const char *code;

    memcpy (prefix, number + 1, length);
    code = lookup_country_code (prefix);
    if (code != NULL)
      return code;
  }
  return NULL;
}

/**
 * rc_e164_same_country:
 * @a: (nullable): an E.164 number
 * @b: (nullable): an E.164 number
 *
 * Returns: %TRUE if both are valid and have the same assigned country calling code
 */
gboolean
rc_e164_same_country (const char *a, const char *b)
{
  const char *code_a = rc_e164_country_code (a);
  const char *code_b = rc_e164_country_code (b);

  return code_a != NULL && code_b != NULL && strcmp (code_a, code_b) == 0;
}

/**
 * rc_e164_country_code_for_mcc:
 * @mcc: (nullable): a mobile country code ("262"); an IMSI or an MCC+MNC operator code
 *   ("26201") may be passed as it is, only its first three digits count
 *
 * Returns: (transfer none) (nullable): the country calling code of the MCC's country ("49"),
 *   or %NULL when @mcc is not three digits or not known
 */
const char *
rc_e164_country_code_for_mcc (const char *mcc)
{
  if (mcc == NULL || strlen (mcc) < RC_E164_MCC_LENGTH || !is_digits (mcc))
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (mcc_table); i++) {
    if (strncmp (mcc_table[i].mcc, mcc, RC_E164_MCC_LENGTH) == 0)
      return mcc_table[i].country_code;
  }
  return NULL;
}

/**
 * rc_e164_normalize:
 * @raw: (nullable): a number as the modem reported it
 * @toa: the +CLIP/+CLCC type of address: %RC_E164_TOA_INTERNATIONAL (145),
 *   %RC_E164_TOA_UNKNOWN (129), %RC_E164_TOA_NATIONAL (161), or %RC_E164_TOA_NOT_KNOWN (0)
 * @country_code: (nullable): the SIM's country calling code ("49"), needed for national numbers
 * @error: return location for a #GError
 *
 * Undecoded UCS2 hex ("002B0034...") is decoded first. Then spaces, dashes, dots and
 * parentheses are dropped, and:
 * - "+..." stays;
 * - the international prefix "00" becomes '+', as do "011" for +1 and "810" for +7;
 * - a number without '+' but with type of address 145 gets a '+';
 * - a national number gets the country code: a trunk prefix ("0"; "1" for +1, "8" for +7,
 *   "06" for +36) is dropped, countries without one (+39 ...) keep a leading 0, numbers of
 *   +1 and +7 have 10 digits after it, and with type of address 161 the trunk prefix may be
 *   missing.
 *
 * Returns: (transfer full) (nullable): the number in E.164 form with an assigned country
 *   calling code, or %NULL with @error set (%RC_E164_ERROR_INVALID) when @raw is empty
 *   (withheld) or does not make one
 */
char *
rc_e164_normalize (const char *raw, int toa, const char *country_code, GError **error)
{
  g_autofree char *decoded = NULL;
  g_autofree char *digits = NULL;
  g_autofree char *number = NULL;
  g_autofree char *stripped = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (raw == NULL || *raw == '\0') {
    g_set_error_literal (error, RC_E164_ERROR, RC_E164_ERROR_INVALID,
                         "No number (empty or withheld)");
    return NULL;
  }

  stripped = g_strstrip (g_strdup (raw));
  decoded = decode_ucs2_hex (stripped);
  digits = strip_separators (decoded != NULL ? decoded : stripped, error);
  if (digits == NULL)
    return NULL;
  if (*digits == '\0') {
    g_set_error_literal (error, RC_E164_ERROR, RC_E164_ERROR_INVALID,
                         "No number (empty or withheld)");
    return NULL;
  }

  number = to_international (digits, toa, country_code, error);
  if (number == NULL)
    return NULL;
  if (!rc_e164_is_valid (number)) {
    g_set_error (error, RC_E164_ERROR, RC_E164_ERROR_INVALID,
                 "Number is not valid E.164 ('+', a digit 1-9, %d to %d digits)",
                 RC_E164_MIN_DIGITS, RC_E164_MAX_DIGITS);
    return NULL;
  }
  if (rc_e164_country_code (number) == NULL) {
    g_set_error_literal (error, RC_E164_ERROR, RC_E164_ERROR_INVALID,
                         "Number starts with an unassigned country calling code");
    return NULL;
  }
  return g_steal_pointer (&number);
}

/**
 * rc_e164_get_country_codes:
 * @n_codes: (out): the number of codes
 *
 * Returns: (transfer none): the assigned country calling codes, sorted by strcmp ()
 */
const char *const *
rc_e164_get_country_codes (guint *n_codes)
{
  g_return_val_if_fail (n_codes != NULL, NULL);

  *n_codes = G_N_ELEMENTS (country_codes);
  return country_codes;
}
