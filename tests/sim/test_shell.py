"""The emulated sh: parsing, expansion, control flow and dash-compatible errors."""

from __future__ import annotations

import pytest

from pverunbook.sim.shell.parser import ShellSyntaxError, parse
from tests.sim.conftest import sh


def test_parser_accepts_runbook_shapes() -> None:
    for src in ["a=1 b=$x cmd \"$a\" ${b:-def}", "cat > /x << 'EOF'\nhi $x\nEOF\necho done",
                "if [ -f x ]; then echo y; elif true; then :; else echo n; fi",
                "for i in 1 2; do echo $i; done | wc -l", "case $x in a|b) echo 1;; *) :;; esac",
                "( cd /tmp && ls ) ; { echo a; echo b; }", "echo $(hostname) `date` $((1+2))",
                "ps aux | grep -v grep > /tmp/r 2>&1 && echo ok || echo bad"]:
        parse(src)


def test_parser_reports_dash_style_errors() -> None:
    with pytest.raises(ShellSyntaxError, match='Syntax error: "fi" unexpected'):
        parse("fi")
    with pytest.raises(ShellSyntaxError, match="Unterminated quoted string"):
        parse("echo 'abc")


async def test_quoting_and_expansion(sim) -> None:  # type: ignore[no-untyped-def]
    st, out, _ = await sh(sim, "ryanrishi", 'X="a  b"; echo $X "$X" \'$X\' \\$X ${Y:-dflt}')
    assert (st, out) == (0, "a b a  b $X $X dflt\n")
    st, out, _ = await sh(sim, "ryanrishi", "echo $(echo inner) $((6*7)) ~")
    assert out == "inner 42 /root\n"


async def test_status_operators_and_unknown_command(sim) -> None:  # type: ignore[no-untyped-def]
    st, out, err = await sh(sim, "ryanrishi", "nosuchcmd --x; echo rc=$?")
    assert out == "rc=127\n" and err == "sh: 1: nosuchcmd: not found\n"
    st, out, _ = await sh(sim, "ryanrishi", "false && echo no || echo yes; ! true; echo $?")
    assert out == "yes\n1\n"


async def test_pipes_redirects_heredoc(sim) -> None:  # type: ignore[no-untyped-def]
    script = ("printf 'b\\na\\nb\\n' | sort | uniq -c > /tmp/o.txt 2>/dev/null\n"
              "cat /tmp/o.txt; cat <<EOF | tr a-z A-Z\nhello $HOME\nEOF\n"
              "echo err >&2 2>/dev/null; ls /nope 2>&1 | head -1")
    st, out, err = await sh(sim, "ryanrishi", script)
    assert out.splitlines() == ["      1 a", "      2 b", "HELLO /ROOT",
                                "ls: cannot access '/nope': No such file or directory"]
    assert err == "err\n"


async def test_control_flow_and_globs(sim) -> None:  # type: ignore[no-untyped-def]
    script = ("mkdir -p /tmp/g && touch /tmp/g/a.conf /tmp/g/b.conf\n"
              "for f in /tmp/g/*.conf; do basename $f; done\n"
              "if [ -d /tmp/g ] && test -f /tmp/g/a.conf; then echo yes; else echo no; fi\n"
              "case foo.conf in *.conf) echo conf;; *) echo other;; esac\n"
              "n=0; while [ $n -lt 3 ]; do n=$((n+1)); done; echo $n")
    st, out, _ = await sh(sim, "ryanrishi", script)
    assert out == "a.conf\nb.conf\nyes\nconf\n3\n"


async def test_text_tools(sim) -> None:  # type: ignore[no-untyped-def]
    script = ("printf 'x 1\\ny 2\\nz 3\\n' > /tmp/t\n"
              "awk '{print $2}' /tmp/t | tr '\\n' ,; echo\n"
              "grep -c -E '^(x|z)' /tmp/t; grep -n y /tmp/t; cut -d' ' -f1 /tmp/t | head -n 2\n"
              "sed -n '2p' /tmp/t; wc -l < /tmp/t; grep -q nothing /tmp/t; echo $?")
    st, out, _ = await sh(sim, "ryanrishi", script)
    assert out == "1,2,3,\n2\n2:y 2\nx\ny\ny 2\n3\n1\n"


async def test_sed_semicolons_inside_s(sim) -> None:  # type: ignore[no-untyped-def]
    """A ``;`` inside ``s///`` is text of the command, not the end of it (it split there)."""
    script = ("printf 'a;b\\nx/\\n' | sed -e 's/a;b/c/' -e 's/x\\//y;z/;s/z/Z/'\n"
              "printf 'k\\n' > /tmp/k; sed -i 's|k|;|; s/;/[;]/' /tmp/k; cat /tmp/k")
    st, out, err = await sh(sim, "ryanrishi", script)
    assert (st, out, err) == (0, "c\ny;Z\n[;]\n", "")


async def test_ip_route_show_leaves_out_what_it_selects_by(sim) -> None:  # type: ignore[no-untyped-def]
    """iproute2 print_route: a route selected by ``via`` (a host address), ``dev`` or
    ``proto`` is printed without that attribute (iproute2 6.1 on Debian 12 does so)."""
    st, out, _ = await sh(sim, "ryanrishi", "ip route replace 192.168.4.201 via 192.168.4.1 "
                          "dev vmbr0 proto static metric 100\n"
                          "ip route show exact 192.168.4.201 via 192.168.4.1; echo --\n"
                          "ip route show exact 192.168.4.201; echo --\n"
                          "ip route show proto static; echo --\n"
                          "ip route show exact 192.168.4.201 via 192.168.4.9")
    assert (st, out.split("--\n")) == (0, [
        "192.168.4.201 dev vmbr0 proto static metric 100 \n",
        "192.168.4.201 via 192.168.4.1 dev vmbr0 proto static metric 100 \n",
        "192.168.4.201 via 192.168.4.1 dev vmbr0 metric 100 \n",
        ""]), out


async def test_timeout_semantics(sim) -> None:  # type: ignore[no-untyped-def]
    st, out, _ = await sh(sim, "ryanrishi", "timeout 2 sleep 10; echo $?; timeout 5 true; "
                          "echo $?")
    assert out == "124\n0\n"
    # -v (coreutils timeout.c): says on stderr which signal it sent, the status stays 124
    st, out, err = await sh(sim, "ryanrishi", "timeout -v 2 sleep 10; echo $?; "
                            "timeout -v 5 true; echo $?")
    assert out == "124\n0\n"
    assert err == "timeout: sending signal TERM to command 'sleep'\n"


async def test_ls_all_lists_dot_and_dotdot(sim) -> None:  # type: ignore[no-untyped-def]
    script = ("mkdir -p /tmp/d && touch /tmp/d/.hidden /tmp/d/shown\n"
              "ls /tmp/d; echo --; ls -a /tmp/d; echo --; ls -A /tmp/d; echo --; ls -la /tmp/d")
    _, out, _ = await sh(sim, "ryanrishi", script)
    plain, all_, almost, long_ = out.split("--\n")
    assert plain.split() == ["shown"]
    assert all_.split() == [".", "..", ".hidden", "shown"]  # GNU ls -a
    assert almost.split() == [".hidden", "shown"]  # -A: no . and ..
    assert [ln.split()[-1] for ln in long_.splitlines()[1:]] == [".", "..", ".hidden", "shown"]


async def test_awk_assignments_and_variables(sim) -> None:  # type: ignore[no-untyped-def]
    # mawk(1): plain assignments, concatenation, -v, x++, numeric printf, unset is ""
    script = ("printf 'eno1 UP 1500\\nvmbr0 UP 9000\\nlo UNKNOWN 65536\\n' > /tmp/l\n"
              "awk '{ x = $3 } END { print x }' /tmp/l\n"
              "awk '$2 == \"UP\" { n++; names = names $1 \",\" } END { print n, names }' /tmp/l\n"
              "awk -v want=vmbr0 '$1 == want { mtu = $3 } END { printf \"%s mtu %d\\n\", want, "
              "mtu }' /tmp/l\n"
              "awk '{ total += $3 } END { print total; print \"[\" unset \"]\" }' /tmp/l")
    st, out, err = await sh(sim, "ryanrishi", script)
    assert st == 0, err
    assert out == "65536\n2 eno1,vmbr0,\nvmbr0 mtu 9000\n76036\n[]\n"


async def test_break_and_continue_leave_loops_as_dash_does(sim) -> None:  # type: ignore[no-untyped-def]
    """The rehearsal's sh had neither: ``break`` was 'not found' and every loop ran to its
    end (the rollback script's /etc/pve retry loop went on for its full 300 s after the write
    had succeeded). Expected outputs are dash's own."""
    cases = {
        "n=0; while [ $n -lt 3 ]; do if true; then echo it$n; break; fi; n=$((n+1)); done; "
        "echo end": "it0\nend\n",
        "for a in 1 2; do if [ $a = 1 ]; then continue; fi; echo got$a; done": "got2\n",
        "for a in 1 2; do for b in x y; do echo $a$b; continue 2; done; echo never; done; "
        "echo end": "1x\n2x\nend\n",
        "for a in 1 2; do for b in x y; do echo $a$b; break 2; done; done; echo end":
            "1x\nend\n",
        "break; echo after": "after\n",
        "for a in 1 2 3; do (break; echo sub); echo out$a; done": "out1\nout2\nout3\n",
        "for a in 1 2 3; do x=$(break; echo sub); echo out$a$x; done": "out1\nout2\nout3\n",
        "until false; do break; done; echo rc=$?": "rc=0\n",
    }
    for src, want in cases.items():
        st, out, err = await sh(sim, "ryanrishi", src)
        assert (st, out, err) == (0, want, ""), src


async def test_an_illegal_loop_count_ends_the_shell_as_in_dash(sim) -> None:  # type: ignore[no-untyped-def]
    """``break 0`` printed dash's message but the script went on with status 2. break and
    continue are special builtins: in dash (and POSIX 2.8.1) their error ends a non-interactive
    shell, unless run through ``command``; a subshell or $(...) ends alone. The count is read
    as dash's ``number`` reads it. Expected outputs, errors and statuses are dash 0.5's own."""
    ill = "sh: 1: {}: Illegal number: {}\n"
    cases = {
        "break 0; echo after": (2, "", ill.format("break", "0")),
        "for a in 1 2; do break 0; echo in$a; done; echo after":
            (2, "", ill.format("break", "0")),
        "continue 0; echo after": (2, "", ill.format("continue", "0")),
        "for a in 1 2; do continue abc; done; echo after": (2, "", ill.format("continue", "abc")),
        "break -1; echo after": (2, "", ill.format("break", "-1")),
        "break 00; echo after": (2, "", ill.format("break", "00")),
        "break 99999999999; echo a": (2, "", ill.format("break", "99999999999")),
        "break '1 2'; echo a": (2, "", ill.format("break", "1 2")),
        "break 1_0; echo a": (2, "", ill.format("break", "1_0")),
        "command break 0; echo after rc=$?": (0, "after rc=2\n", ill.format("break", "0")),
        "for a in 1 2; do (break 0; echo sub); echo out$a; done":
            (0, "out1\nout2\n", ill.format("break", "0") * 2),
        "x=$(break 0; echo sub); echo out$x": (0, "out\n", ill.format("break", "0")),
        # what dash's number() accepts: blanks around the digits, a sign
        "for i in 1; do for j in 1; do break ' 1 '; echo inner; done; echo outer; done; "
        "echo end": (0, "outer\nend\n", ""),
        "for i in 1; do for j in 1; do break +2; echo inner; done; echo outer; done; echo end":
            (0, "end\n", ""),
    }
    for src, want in cases.items():
        assert await sh(sim, "ryanrishi", src) == want, src
