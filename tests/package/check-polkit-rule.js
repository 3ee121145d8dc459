// Evaluates a polkit JavaScript rules file the way polkitd does (the file's top level runs once
// with a global `polkit` object; polkit.addRule collects functions that get (action, subject))
// and checks what the reachcelld rule decides.
//
// Usage: node check-polkit-rule.js RULES_FILE [SERVICE_USER]
// Exit status 0 when every expectation holds, 1 otherwise (each check is printed).
"use strict";

const fs = require("fs");
const vm = require("vm");

const [rulesPath, serviceUser = "reachcell"] = process.argv.slice(2);
if (!rulesPath) {
  console.error("usage: node check-polkit-rule.js RULES_FILE [SERVICE_USER]");
  process.exit(2);
}

const rules = [];
const Result = Object.freeze({
  NO: "no", YES: "yes", AUTH_SELF: "auth_self", AUTH_SELF_KEEP: "auth_self_keep",
  AUTH_ADMIN: "auth_admin", AUTH_ADMIN_KEEP: "auth_admin_keep", NOT_HANDLED: null,
});
const polkit = {
  Result,
  addRule: (fn) => {
    if (typeof fn !== "function") throw new TypeError("addRule wants a function");
    rules.push(fn);
  },
  addAdminRule: () => { throw new Error("the reachcelld rule must not add admin rules"); },
  log: () => {},
  spawn: () => { throw new Error("the reachcelld rule must not spawn programs"); },
};

// polkitd runs rules in a plain ECMAScript context: no require, no process, no console.
const context = vm.createContext({ polkit });
vm.runInContext(fs.readFileSync(rulesPath, "utf8"), context, { filename: rulesPath });

function makeAction(id) {
  return { id, lookup: () => undefined, toString: () => `[Action id='${id}']` };
}
function makeSubject(user, groups) {
  return {
    user, groups, pid: 4242, seat: "", session: "", local: false, active: false,
    isInGroup: (g) => groups.includes(g), isInNetGroup: () => false,
    toString: () => `[Subject user='${user}']`,
  };
}

// polkitd asks each rule in turn; the first one that returns a value other than undefined/null
// decides. NOT_HANDLED (null) and undefined leave the decision to later rules and the defaults.
function decide(actionId, user, groups) {
  const action = makeAction(actionId);
  const subject = makeSubject(user, groups);
  for (const rule of rules) {
    const result = rule(action, subject);
    if (result !== undefined && result !== null) return result;
  }
  return undefined;
}

const granted = ["org.freedesktop.ModemManager1.Voice", "org.freedesktop.ModemManager1.Device.Control"];
const others = [
  "org.freedesktop.ModemManager1.Messaging",
  "org.freedesktop.ModemManager1.Contacts",
  "org.freedesktop.ModemManager1.Location",
  "org.freedesktop.ModemManager1.Firmware",
  "org.freedesktop.NetworkManager.network-control",
  "org.freedesktop.systemd1.manage-units",
  "org.freedesktop.ModemManager1.Voice.extra", // a prefix match would be a bug
];
const otherUsers = [
  ["root", ["root"]],
  ["alice", ["alice", "sudo", "netdev", "dialout"]],
  ["modemmanager", ["modemmanager"]],
  [serviceUser + "x", [serviceUser]], // in the service user's group, but not the user
  [serviceUser.toUpperCase(), []],
];

let failures = 0;
function expect(what, got, want) {
  const ok = got === want;
  if (!ok) failures++;
  console.log(`${ok ? "ok" : "FAIL"}: ${what}: ${got === undefined ? "not handled" : got}` +
              (ok ? "" : ` (wanted ${want === undefined ? "not handled" : want})`));
}

expect("number of rules added", rules.length, 1);
for (const id of granted)
  expect(`${serviceUser} / ${id}`, decide(id, serviceUser, [serviceUser]), Result.YES);
for (const id of others)
  expect(`${serviceUser} / ${id}`, decide(id, serviceUser, [serviceUser]), undefined);
for (const [user, groups] of otherUsers)
  for (const id of granted.concat(others))
    expect(`${user} / ${id}`, decide(id, user, groups), undefined);

console.log(failures === 0 ? "polkit rule: all checks passed" : `polkit rule: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
