#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Keeps the documentation true to the code.

  check-docs.py [SOURCE_ROOT]      (default: the directory above this script's)

Configuration (src/rc-config.c):
  - every key of the known_keys table, and every [number:+E164] key of number_keys, appears as
    "key=" (commented out or not) under its group in data/reachcelld.conf, and as a .TP entry
    in its group's section of man/reachcelld.conf.5.in;
  - the range of every whole-number key (the bounds passed to read_uint) is written in its man
    entry as "MIN to MAX", and the built-in default (rc_config_new_defaults) as "default N" in
    the man entry and as "key=N" in the shipped file; the same for booleans and for
    [webhook] retry-schedule (its bounds and its default schedule).
reachcellctl (src/reachcellctl.c):
  - every command of the commands table has a .TP entry in COMMANDS of man/reachcellctl.1.in,
    naming its arguments, and every option of the command appears in that entry;
  - the global options appear in OPTIONS.
reachcelld (src/main.c) and reachcell-modem-sim (src/modem-sim/sim-main.c):
  - every command-line option appears in OPTIONS of reachcelld.8.in, reachcell-modem-sim.1.in;
  - every simulator control command (control_help in sim-server.c) appears in CONTROL COMMANDS.
The pages (man/*.in):
  - use only the @placeholders@ that man/meson.build fills in;
  - filled in as man/meson.build does, render without a single warning from
    "groff -man -Tutf8 -ww -z" (skipped, with a note, when groff is not installed).

Uses only the standard library. Exit status: 0 all checks passed, 1 a check failed (each failure
is printed), 2 a source file could not be read or parsed (the message says which).
"""

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile

NUMBER_GROUP = "number:+E164"  # how the man page and this script name the [number:…] groups


class ParseError(Exception):
    pass


failures = []


def fail(message):
    failures.append(message)


def read(root, path):
    try:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ParseError("cannot read %s: %s" % (path, e.strerror))


def block(text, pattern, what, path):
    """The text of the first match of @pattern's group 1, or a ParseError naming @what."""
    m = re.search(pattern, text, re.S | re.M)
    if m is None:
        raise ParseError("%s: cannot find %s (renamed or restructured? update tests/check-docs.py)"
                         % (path, what))
    return m.group(1)


# --- C sources -----------------------------------------------------------------------------------

def c_defines(text):
    defines = {}
    for m in re.finditer(r"^#define\s+(\w+)\s+(.+?)\s*(?:/\*.*)?$", text, re.M):
        defines[m.group(1)] = m.group(2)
    return defines


def c_eval(expr, defines, depth=0):
    """Evaluates a C integer expression of literals, macros, + - * / and parentheses."""
    if depth > 10:
        raise ParseError("cannot evaluate %r: macros nest too deep" % expr)
    expanded = re.sub(r"\b[A-Za-z_]\w*\b",
                      lambda m: "(%d)" % c_eval(defines[m.group(0)], defines, depth + 1)
                      if m.group(0) in defines else m.group(0), expr.strip())
    tree = ast.parse(expanded, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Add, ast.Sub, ast.Mult,
               ast.FloorDiv, ast.Div, ast.USub, ast.UAdd)
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ParseError("cannot evaluate %r as a whole number" % expr)
    return int(eval(compile(tree, "<c>", "eval")))  # only literals and arithmetic remain


def config_model(root):
    """(keys, facts): keys is a list of (group, key); facts maps (group, key) to a dict with
    optional "range" (min, max) and "default" (text as written in the files)."""
    path = "src/rc-config.c"
    text = read(root, path)
    defines = c_defines(text)

    table = block(text, r"known_keys\s*\[\s*\]\s*\[\s*2\s*\]\s*=\s*\{(.*?)\};",
                  "the known_keys table", path)
    keys = re.findall(r'\{\s*"([^"]+)"\s*,\s*"([^"]+)"\s*\}', table)
    numbers = re.findall(r'"([^"]+)"', block(text, r"number_keys\s*\[\s*\]\s*=\s*\{(.*?)\};",
                                             "the number_keys table", path))
    if not keys or not numbers:
        raise ParseError("%s: the known_keys or number_keys table is empty" % path)
    keys += [(NUMBER_GROUP, key) for key in numbers]

    defaults_body = block(text, r"^rc_config_new_defaults\s*\(void\)\s*\{(.*?)^\}",
                          "rc_config_new_defaults ()", path)
    field_defaults = dict(re.findall(r"config->(\w+)\s*=\s*([^;]+);", defaults_body))

    facts = {key: {} for key in keys}
    uint_call = re.compile(
        r"(?:value\s*=\s*(?P<init>[^;]+);\s*)?"
        r"if\s*\(\s*!read_uint\s*\(\s*file\s*,\s*(?P<group>group|\"[^\"]+\")\s*,\s*"
        r"\"(?P<key>[^\"]+)\"\s*,\s*(?P<min>[^,]+?)\s*,\s*(?P<max>[^,]+?)\s*,", re.S)
    for m in uint_call.finditer(text):
        group = NUMBER_GROUP if m.group("group") == "group" else m.group("group").strip('"')
        entry = facts.setdefault((group, m.group("key")), {})
        entry["range"] = (c_eval(m.group("min"), defines), c_eval(m.group("max"), defines))
        init = (m.group("init") or "").strip()
        field = re.fullmatch(r"config->(\w+)", init)
        if field is not None:
            if field.group(1) not in field_defaults:
                raise ParseError("%s: no default for config->%s in rc_config_new_defaults ()"
                                 % (path, field.group(1)))
            entry["default"] = str(c_eval(field_defaults[field.group(1)], defines))
        elif re.fullmatch(r"\d+", init):
            entry["default"] = init

    for m in re.finditer(r'read_bool\s*\(\s*file\s*,\s*"([^"]+)"\s*,\s*"([^"]+)"\s*,\s*'
                         r"&config->(\w+)", text):
        value = field_defaults.get(m.group(3), "FALSE").strip()
        facts.setdefault((m.group(1), m.group(2)), {})["default"] = \
            "true" if value == "TRUE" else "false"

    schedule = block(text, r"default_retry_schedule\s*\[\s*\]\s*=\s*\{(.*?)\};",
                     "default_retry_schedule", path)
    entry = facts.setdefault(("webhook", "retry-schedule"), {})
    entry["default"] = ";".join(str(c_eval(v, defines)) for v in schedule.split(","))
    entry["phrases"] = ["1 to %d" % c_eval("RC_MAX_RETRY_STEPS", defines),
                        "0 to %d" % c_eval("RC_MAX_RETRY_DELAY", defines)]

    for key in facts:
        if key not in keys:
            fail("%s reads [%s] %s, which is not in known_keys or number_keys" % ((path,) + key))
    return keys, facts


def goption_entries(body):
    """[(long, short or None)] of the GOptionEntry initialisers in @body."""
    entries = []
    for m in re.finditer(r"\{\s*\"([a-z][a-z0-9-]*)\"\s*,\s*(?:'(.)'|0)\s*,", body):
        entries.append((m.group(1), m.group(2)))
    return entries


def function_body(text, name, path):
    return block(text, r"^%s\s*\([^)]*\)\s*\{(.*?)^\}" % re.escape(name), name + " ()", path)


def ctl_model(root):
    path = "src/reachcellctl.c"
    text = read(root, path)
    table = block(text, r"RcCtlCommand\s+commands\s*\[\s*\]\s*=\s*\{(.*?)^\};",
                  "the commands table", path)
    commands = []
    entry = re.compile(r'\{\s*"([^"]+)"\s*,\s*(NULL|"[^"]*")\s*,.*?(run_\w+)\s*,?\s*\}', re.S)
    for m in entry.finditer(table):
        parameters = None if m.group(2) == "NULL" else m.group(2).strip('"')
        body = function_body(text, m.group(3), path)
        options = []
        option_block = re.search(r"GOptionEntry\s+entries\s*\[\s*\]\s*=\s*\{(.*?)\};", body, re.S)
        if option_block is not None:
            options = goption_entries(option_block.group(1))
        commands.append((m.group(1), parameters, options))
    if not commands:
        raise ParseError("%s: no commands found in the commands table" % path)
    global_options = goption_entries(block(text, r"global_entries\s*\[\s*\]\s*=\s*\{(.*?)\};",
                                           "global_entries", path))
    main_options = goption_entries(block(function_body(text, "main", path),
                                         r"GOptionEntry\s+entries\s*\[\s*\]\s*=\s*\{(.*?)\};",
                                         "main ()'s option entries", path))
    return commands, global_options + main_options


def program_options(root, path, anchor):
    text = read(root, path)
    options = goption_entries(block(text, anchor + r"\s*\[\s*\]\s*=\s*\{(.*?)\};",
                                    "the option entries", path))
    if not options:
        raise ParseError("%s: no options found in the option entries" % path)
    return options


def sim_control_commands(root):
    path = "src/modem-sim/sim-server.c"
    text = read(root, path)
    literals = block(text, r'control_help\s*\[\s*\]\s*=\s*((?:\s*"(?:[^"\\]|\\.)*")+)\s*;',
                     "control_help", path)
    help_text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', literals))
    help_text = re.sub(r"^commands:\s*", "", help_text)
    commands = [item.split()[0] for item in help_text.split(";") if item.strip()]
    if not commands:
        raise ParseError("%s: no commands found in control_help" % path)
    return commands


# --- roff ----------------------------------------------------------------------------------------

def roff_args(rest):
    args = []
    for m in re.finditer(r'"((?:[^"]|"")*)"|(\S+)', rest):
        args.append(m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2))
    return args


def roff_text(line):
    """The visible text of one roff line (font macros and escapes resolved, roughly)."""
    m = re.match(r"^\.(B|I|R|SM|SB|BR|RB|BI|IB|IR|RI)\b\s*(.*)$", line)
    if m is not None:
        args = roff_args(m.group(2))
        line = (" " if len(m.group(1)) == 1 else "").join(args)
    elif line.startswith(".") or line.startswith("'"):
        return ""
    line = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", line)
    line = line.replace("\\-", "-").replace("\\&", "").replace("\\~", " ").replace("\\e", "\\")
    line = re.sub(r"\\\(..|\\\[[^\]]*\]", "\u2026", line)
    return line


def man_sections(text):
    """{section title: [lines]} for the .SH sections of a page."""
    sections = {}
    current = None
    for line in text.splitlines():
        m = re.match(r'^\.SH\s+"?(.*?)"?\s*$', line)
        if m is not None:
            current = m.group(1)
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return sections


def man_entries(lines):
    """[(tag text, body text)] of the .TP entries of a section, nested ones included."""
    entries = []
    i = 0
    while i < len(lines):
        if lines[i].startswith(".TP") and i + 1 < len(lines):
            tag = roff_text(lines[i + 1])
            body = []
            j = i + 2
            while j < len(lines) and not re.match(r"^\.(TP|SH|SS|PP|P|LP)\b", lines[j]):
                body.append(roff_text(lines[j]))
                j += 1
            entries.append((tag, " ".join(t for t in body if t)))
            i = j
        else:
            i += 1
    return entries


def section_text(lines):
    return " ".join(roff_text(line) for line in lines)


def has_option(text, long_name, short):
    if not re.search(r"(?<![\w-])--%s(?![\w-])" % re.escape(long_name), text):
        return False
    return short is None or re.search(r"(?<![\w-])-%s(?![\w-])" % re.escape(short), text)


def option_label(long_name, short):
    return ("-%s, --%s" % (short, long_name)) if short else "--" + long_name


# --- the shipped configuration file ---------------------------------------------------------------

def conf_keys(text):
    """{(group, key): [values]} for every "key=value" line, commented out or not. A line belongs
    to the group above it and, if it is part of the comment block right above a group header,
    to that group too (that block documents the group)."""
    header = re.compile(r"^#?\s*\[([^\]]+)\]\s*$")
    keyline = re.compile(r"^#*\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*(\S*)")
    lines = text.splitlines()
    found = {}

    def group_name(raw):
        return NUMBER_GROUP if raw.startswith("number:") else raw

    def add(group, m):
        found.setdefault((group, m.group(1)), []).append(m.group(2))

    group = None
    for i, line in enumerate(lines):
        h = header.match(line)
        if h is not None:
            group = group_name(h.group(1))
            j = i - 1
            while j >= 0 and lines[j].startswith("#") and header.match(lines[j]) is None:
                k = keyline.match(lines[j])
                if k is not None:
                    add(group, k)
                j -= 1
            continue
        k = keyline.match(line)
        if k is not None and group is not None:
            add(group, k)
    return found


# --- checks ---------------------------------------------------------------------------------------

def check_config(root):
    keys, facts = config_model(root)
    conf_path = "data/reachcelld.conf"
    man_path = "man/reachcelld.conf.5.in"
    shipped = conf_keys(read(root, conf_path))
    sections = man_sections(read(root, man_path))

    for group, key in keys:
        label = "[%s] %s" % (group, key)
        fact = facts.get((group, key), {})

        values = shipped.get((group, key))
        if values is None:
            fail("%s: %s is not documented: no \"%s=\" line (commented out or not) under [%s]"
                 % (conf_path, label, key, group))
        elif "default" in fact and group != NUMBER_GROUP and fact["default"] not in values:
            # The global groups show their defaults; the [number:…] groups show examples.
            fail("%s: %s shows %s, but the built-in default is %s"
                 % (conf_path, label, ", ".join("%s=%s" % (key, v) for v in values), key + "="
                    + fact["default"]))

        section = "[%s]" % group
        if section not in sections:
            fail("%s: no section .SH %s for %s" % (man_path, section, label))
            continue
        entry = [e for e in man_entries(sections[section])
                 if re.match(r"^%s(?:[\s(]|$)" % re.escape(key), e[0])]
        if not entry:
            fail("%s: %s is not documented: no .TP entry for it in section %s"
                 % (man_path, label, section))
            continue
        text = " ".join(entry[0])
        if "range" in fact and "%d to %d" % fact["range"] not in text:
            fail("%s: %s: the code accepts %d to %d, the entry does not say \"%d to %d\""
                 % ((man_path, label) + fact["range"] * 2))
        if "default" in fact and "default " + fact["default"] not in text:
            fail("%s: %s: the built-in default is %s, the entry does not say \"default %s\""
                 % (man_path, label, fact["default"], fact["default"]))
        for phrase in fact.get("phrases", []):
            if phrase not in text:
                fail("%s: %s: the entry does not say \"%s\" (a bound the code enforces)"
                     % (man_path, label, phrase))
    return len(keys)


def check_ctl(root):
    commands, options = ctl_model(root)
    man_path = "man/reachcellctl.1.in"
    sections = man_sections(read(root, man_path))
    entries = man_entries(sections.get("COMMANDS", []))
    if "COMMANDS" not in sections:
        fail("%s: no COMMANDS section" % man_path)

    paths = [c[0] for c in commands]
    for path, parameters, command_options in commands:
        starts = [i for i, (tag, _) in enumerate(entries)
                  if re.match(r"^%s(?:\s|$)" % re.escape(path), tag)]
        if not starts:
            fail("%s: the command \"%s\" is not documented: no .TP entry for it in COMMANDS"
                 % (man_path, path))
            continue
        first = starts[0]
        # The command's entry runs to the next command's entry (its options are nested .TP).
        last = first + 1
        while last < len(entries) and not any(
                re.match(r"^%s(?:\s|$)" % re.escape(p), entries[last][0]) for p in paths):
            last += 1
        text = " ".join(" ".join(e) for e in entries[first:last])
        if parameters is not None and parameters not in entries[first][0].split():
            fail("%s: the entry of \"%s\" does not name its argument %s"
                 % (man_path, path, parameters))
        for long_name, short in command_options:
            if not has_option(text, long_name, short):
                fail("%s: the entry of \"%s\" does not mention its option %s"
                     % (man_path, path, option_label(long_name, short)))

    text = section_text(sections.get("OPTIONS", []))
    for long_name, short in options:
        if not has_option(text, long_name, short):
            fail("%s: OPTIONS does not mention %s" % (man_path, option_label(long_name, short)))
    return len(commands)


def check_program_options(root, source, anchor, man_path):
    options = program_options(root, source, anchor)
    sections = man_sections(read(root, man_path))
    text = section_text(sections.get("OPTIONS", []))
    for long_name, short in options:
        if not has_option(text, long_name, short):
            fail("%s: OPTIONS does not mention %s (an option of %s)"
                 % (man_path, option_label(long_name, short), source))
    return len(options)


def check_sim_control(root):
    commands = sim_control_commands(root)
    man_path = "man/reachcell-modem-sim.1.in"
    text = section_text(man_sections(read(root, man_path)).get("CONTROL COMMANDS", []))
    for command in commands:
        if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(command), text):
            fail("%s: CONTROL COMMANDS does not mention \"%s\" (in control_help of sim-server.c)"
                 % (man_path, command))
    return len(commands)


def check_rendering(root):
    """Placeholders as man/meson.build fills them in, and groff's warnings."""
    meson = read(root, "man/meson.build")
    settable = set(re.findall(r"man_conf\.set\(\s*'(\w+)'", meson))
    pages = re.findall(r"'([\w.-]+\.\d)'", block(meson, r"foreach\s+page\s*:\s*\[(.*?)\]",
                                                 "the list of pages", "man/meson.build"))
    version = re.search(r"version\s*:\s*'([^']+)'", read(root, "meson.build"))
    values = {"VERSION": version.group(1) if version else "0", "sysconfdir": "/etc",
              "localstatedir": "/var", "datadir": "/usr/share", "service_user": "reachcell"}
    groff = shutil.which("groff")
    if groff is None:
        print("check-docs: note: groff is not installed (apt-get install groff-base): "
              "the pages were not rendered")

    with tempfile.TemporaryDirectory(prefix="check-docs-") as scratch:
        for page in pages:
            source = "man/%s.in" % page
            text = read(root, source)
            for name in sorted(set(re.findall(r"@(\w+)@", text))):
                if name not in settable:
                    fail("%s: @%s@ is not filled in by man/meson.build" % (source, name))
            rendered = re.sub(r"@(\w+)@", lambda m: values.get(m.group(1), m.group(0)), text)
            out = os.path.join(scratch, page)
            with open(out, "w", encoding="utf-8") as f:
                f.write(rendered)
            if groff is None:
                continue
            result = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", out],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=dict(os.environ, LC_ALL="C.UTF-8"))
            for line in result.stderr.decode("utf-8", "replace").splitlines():
                fail("%s: groff: %s" % (source, line.replace(out, page)))
            if result.returncode != 0:
                fail("%s: groff exited with status %d" % (source, result.returncode))
    return "%d pages %s" % (len(pages), "rendered by groff" if groff else "checked (not rendered)")


def main(argv):
    if len(argv) > 2:
        sys.stderr.write("usage: check-docs.py [SOURCE_ROOT]\n")
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    root = argv[1] if len(argv) == 2 else os.path.dirname(here)
    try:
        counts = [
            "%d configuration keys" % check_config(root),
            "%d reachcellctl commands" % check_ctl(root),
            "%d reachcelld options" % check_program_options(
                root, "src/main.c", r"GOptionEntry\s+entries", "man/reachcelld.8.in"),
            "%d simulator options" % check_program_options(
                root, "src/modem-sim/sim-main.c", r"GOptionEntry\s+entries",
                "man/reachcell-modem-sim.1.in"),
            "%d simulator control commands" % check_sim_control(root),
            check_rendering(root),
        ]
    except ParseError as e:
        sys.stderr.write("check-docs: ERROR: %s\n" % e)
        return 2

    for message in failures:
        sys.stderr.write("check-docs: FAIL: %s\n" % message)
    if failures:
        sys.stderr.write("check-docs: %d problem%s: the documentation is out of step with the "
                         "code (see above)\n" % (len(failures), "" if len(failures) == 1 else "s"))
        return 1
    print("check-docs: OK: " + ", ".join(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
