/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  SIM_REGISTRATION_IDLE,
  SIM_REGISTRATION_HOME,
  SIM_REGISTRATION_SEARCHING,
  SIM_REGISTRATION_DENIED,
  SIM_REGISTRATION_ROAMING,
} SimRegistration;

typedef enum {
  SIM_OUTPUT_ECHO,     /* the received line, sent back verbatim followed by "\r" */
  SIM_OUTPUT_RESPONSE, /* an information or final result line, framed "\r\n…\r\n" */
  SIM_OUTPUT_URC,      /* an unsolicited line, framed "\r\n…\r\n" */
} SimOutputKind;

/* The identity of the simulated modem and its SIM; all strings owned. */
typedef struct {
  char *manufacturer;
  char *model;
  char *revision;
  char *imei;
  char *imsi;
  char *iccid;
  char *own_number; /* NULL: the SIM stores no own number */
  char *operator_name;
  char *operator_code;
  char *country;
  guint signal; /* 0–100 % */
  SimRegistration registration;
} SimIdentity;

SimIdentity *sim_identity_new_default (void);
void sim_identity_free (SimIdentity *identity);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SimIdentity, sim_identity_free)

gboolean sim_registration_from_string (const char *text, SimRegistration *out_registration);
const char *sim_registration_to_string (SimRegistration registration);

#define SIM_TYPE_MODEM (sim_modem_get_type ())
G_DECLARE_FINAL_TYPE (SimModem, sim_modem, SIM, MODEM, GObject)

/* Takes ownership of @identity. Emits "output" (SimOutputKind kind, const char *line) for every
 * line to send to the AT client. */
SimModem *sim_modem_new (SimIdentity *identity);

void sim_modem_receive_line (SimModem *self, const char *line);
void sim_modem_reject_overlong_line (SimModem *self);
guint sim_modem_get_command_count (SimModem *self);

/* Runs one control command (argv[0] is its name). Returns FALSE with @error for an unknown
 * command (G_IO_ERROR_NOT_SUPPORTED) or a bad argument (G_IO_ERROR_INVALID_ARGUMENT).
 * @out_info receives the text that follows "OK" in the reply, or NULL. */
gboolean
sim_modem_control (SimModem *self, const char *const *argv, char **out_info, GError **error);

/* Appends "key=value\n" lines describing the identity, network and calls. */
void sim_modem_append_status (SimModem *self, GString *out);

G_END_DECLS
