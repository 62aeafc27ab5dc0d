#!/usr/bin/env python3
"""Drives devenv through a pseudo-terminal for the sandbox integration tests.

    sandbox-terminal.py SCENARIO DEVENV ARGS...

Scenarios:
  job-control   `devenv enter` runs an interactive shell: a command runs and prints, Ctrl-C stops
                `sleep` and returns to the prompt, Ctrl-Z stops it and `fg` resumes it, a window
                resize reaches the foreground program, `exit 7` makes devenv exit 7.
  prompt        the shell's prompt names the environment; `exit 3` exits 3 (any shell).
  interrupt     `devenv run -- sleep 100`: Ctrl-C ends the command and devenv exits 130.
  suspend       in an outer bash, `devenv run` of a command reading the terminal: Ctrl-Z stops the
                whole job, `fg` resumes it, and the command still reads the terminal.
  nested        in an outer bash, `devenv enter`, then `exit 5`: the outer shell gets the
                terminal back and sees status 5.

Prints what it saw and "PASS" at the end; any other outcome exits non-zero with the reason.
"""
import os
import sys
import time

import pexpect

# "(name) … $ ", maybe followed by a terminal query (busybox asks for the cursor position).
PROMPT = r"\([\w.-]+\) [^\r\n]*[#$] (\x1b\[[0-9;]*[a-zA-Z])*$"


def spawn(argv):
    # A known terminal type, and wide enough that the prompt (with a long project path) never wraps.
    environment = dict(os.environ, TERM="xterm")
    child = pexpect.spawn(argv[0], argv[1:], env=environment, encoding="utf-8", timeout=15, dimensions=(24, 250))
    child.logfile_read = sys.stdout
    return child


def finish(child, expected_status):
    child.expect(pexpect.EOF)
    child.close()
    if child.exitstatus != expected_status:
        sys.exit(f"\nexpected exit status {expected_status}, got {child.exitstatus} (signal {child.signalstatus})")
    print("\nPASS")


def job_control(argv):
    shell = spawn(argv)
    shell.expect(PROMPT)
    shell.sendline("echo hi $((6*7))")
    shell.expect("hi 42")
    shell.expect(PROMPT)

    shell.sendline("sleep 100")
    time.sleep(0.5)
    started = time.monotonic()
    shell.sendcontrol("c")
    shell.expect(PROMPT)
    if time.monotonic() - started > 5:
        sys.exit("\nCtrl-C did not stop sleep")

    shell.sendline("sleep 100")
    time.sleep(0.5)
    shell.sendcontrol("z")
    shell.expect("Stopped")
    shell.expect(PROMPT)
    shell.sendline("jobs")
    shell.expect(r"\[1\]\+ +Stopped +sleep 100")
    shell.expect(PROMPT)
    shell.sendline("fg")
    shell.expect("sleep 100")
    time.sleep(0.5)
    shell.sendcontrol("c")
    shell.expect(PROMPT)

    # A resize signals the terminal's foreground process group: here a program waiting for it.
    shell.sendline("""bash -c 'trap "echo got-winch; exit" WINCH; echo waiting; while :; do sleep 0.1; done'""")
    shell.expect("waiting")
    time.sleep(0.3)
    shell.setwinsize(40, 220)
    shell.expect("got-winch")
    shell.expect(PROMPT)
    shell.sendline("stty size")
    shell.expect("40 220")
    shell.expect(PROMPT)

    shell.sendline("exit 7")
    finish(shell, 7)


def prompt(argv):
    shell = spawn(argv)
    shell.expect(PROMPT)
    shell.sendline("echo in-$((1+1))")
    shell.expect("in-2")
    shell.expect(PROMPT)
    shell.sendline("exit 3")
    finish(shell, 3)


def interrupt(argv):
    run = spawn(argv)
    run.expect("started")
    time.sleep(0.3)
    run.sendcontrol("c")
    finish(run, 130)


def outer_shell():
    environment = dict(os.environ, TERM="xterm", PS1="outer$ ")
    shell = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=environment, encoding="utf-8", timeout=15,
                          dimensions=(24, 250))
    shell.logfile_read = sys.stdout
    shell.expect(r"outer\$ ")
    return shell


def quoted(argv):
    return " ".join("'" + argument.replace("'", "'\\''") + "'" for argument in argv)


def suspend(argv):
    shell = outer_shell()
    shell.sendline(quoted(argv + ["--", "sh", "-c", "echo started; read line; echo got $line"]))
    shell.expect("started")
    time.sleep(0.3)
    shell.sendcontrol("z")
    shell.expect("Stopped")
    shell.expect(r"outer\$ ")
    shell.sendline("fg")
    time.sleep(0.5)
    shell.sendline("typed")
    shell.expect("got typed")
    shell.expect(r"outer\$ ")
    shell.sendline("echo status=$?")
    shell.expect("status=0")
    shell.sendline("exit 0")
    finish(shell, 0)


def nested(argv):
    shell = outer_shell()
    shell.sendline(quoted(argv))
    shell.expect(PROMPT)
    shell.sendline("exit 5")
    shell.expect(r"outer\$ ")
    shell.sendline("echo status=$?")
    shell.expect("status=5")
    shell.expect(r"outer\$ ")
    # The outer shell owns the terminal again: a program reading it in the foreground works.
    shell.sendline("read line; echo read-$line")
    shell.sendline("back")
    shell.expect("read-back")
    shell.sendline("exit 0")
    finish(shell, 0)


SCENARIOS = {"job-control": job_control, "prompt": prompt, "interrupt": interrupt, "suspend": suspend, "nested": nested}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in SCENARIOS:
        sys.exit(__doc__)
    try:
        SCENARIOS[sys.argv[1]](sys.argv[2:])
    except pexpect.ExceptionPexpect as error:
        sys.exit(f"\n{type(error).__name__}: {str(error).splitlines()[0]}")
