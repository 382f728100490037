#!/usr/bin/env python3
"""Second opinion: compare 'wfpwatch evtx dump' with libevtx's evtxexport.

Usage: bench/diff_evtxexport.py WFPWATCH FILE.evtx ...

For every record: EventID, EventRecordID, Provider, Computer, TimeCreated and
every EventData/UserData leaf (name and text) must agree, after normalizing
the known rendering differences of evtxexport 20181227:
hexadecimal integers zero-padded (0x00000000000003e7 vs Windows' 0x3e7) and
nine fractional digits in times (…34.346000000Z vs Windows' …34.3460000Z); control characters, which
evtxexport writes raw (ill-formed XML) and wfpwatch as U+FFFD.
Exit status 1 on any difference. Needs Debian's libevtx-utils.
"""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"


def norm(s):
    s = (s or "").strip()
    s = re.sub(r"^0x0+([0-9a-fA-F])", r"0x\1", s)
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)Z$", s)
    if m:
        s = "%s.%sZ" % (m.group(1), (m.group(2) + "0000000")[:7])
    return s.replace("\r\n", "\n")


def summary(ev):
    sysel = ev.find(NS + "System")
    out = {}
    for tag in ("EventID", "EventRecordID", "Computer"):
        e = sysel.find(NS + tag)
        out[tag] = norm(e.text if e is not None else "")
    p = sysel.find(NS + "Provider")
    out["Provider"] = p.get("Name") if p is not None else ""
    t = sysel.find(NS + "TimeCreated")
    out["Time"] = norm(t.get("SystemTime") if t is not None else "")
    leaves = []
    for part in ev:
        if part.tag == NS + "System":
            continue
        for e in part.iter():
            if len(e) == 0:
                leaves.append((e.tag.split("}")[-1], e.get("Name"), norm(e.text)))
    out["data"] = leaves
    return out


def events_of(text):
    # evtxexport: a banner line, then one indented <Event> after another.
    # It writes control characters raw (not well-formed XML); wfpwatch
    # writes U+FFFD for them.
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", text)
    return [ET.fromstring(m) for m in re.findall(r"<Event[ >].*?</Event>", text, re.S)]


def main():
    tool, files = sys.argv[1], sys.argv[2:]
    bad = 0
    for f in files:
        ours = ET.fromstring(subprocess.run([tool, "evtx", "dump", f], capture_output=True, check=True).stdout)
        theirs = events_of(subprocess.run(["evtxexport", "-f", "xml", f], capture_output=True, check=True).stdout.decode("utf-8", "replace"))
        a = [summary(e) for e in ours]
        b = [summary(e) for e in theirs]
        diffs = 0
        if len(a) != len(b):
            print("%s: %d records, evtxexport %d" % (f, len(a), len(b)))
            diffs += 1
        for x, y in zip(a, b):
            if x != y:
                diffs += 1
                if diffs <= 5:
                    print("%s record %s:\n  wfpwatch   %s\n  evtxexport %s" % (f, x["EventRecordID"], x, y))
        print("%s: %d records compared, %d differ" % (f, min(len(a), len(b)), diffs))
        bad += diffs
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
