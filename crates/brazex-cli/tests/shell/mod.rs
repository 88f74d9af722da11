//! `brazex completions` and `brazex manpage`: the bash script completes in a real
//! bash, the manual page names the flags.

use std::process::Command;

use crate::util::brazex;

/// What bash's completion offers for the words typed so far (the last may be
/// partial), with the script `brazex completions bash` printed.
fn bash_completes(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let program = r#"source "$1"
fn=$(complete -p brazex | sed -E 's/.*-F ([^ ]+).*/\1/')
shift
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" brazex "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}""#;
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .arg("bash")
        .arg(script)
        .args(words)
        .output()
        .expect("bash runs (the test needs bash)");
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completion_completes_commands_flags_and_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = brazex(&["completions", "bash"]).run();
    run.assert_success();
    let script = dir.path().join("brazex.bash");
    std::fs::write(&script, &run.stdout).expect("write");

    assert_eq!(bash_completes(&script, &["brazex", "pro"]), ["process"]);
    let commands = bash_completes(&script, &["brazex", ""]);
    for command in [
        "run",
        "process",
        "download",
        "demo",
        "schema",
        "completions",
    ] {
        assert!(
            commands.iter().any(|c| c == command),
            "{command}: {commands:?}"
        );
    }
    assert_eq!(
        bash_completes(&script, &["brazex", "process", "--changes-s"]),
        ["--changes-since"]
    );
    assert_eq!(
        bash_completes(&script, &["brazex", "run", "--on-err"]),
        ["--on-error"]
    );
    let formats = bash_completes(&script, &["brazex", "process", "--format", ""]);
    assert!(formats.iter().any(|f| f == "parquet"), "{formats:?}");
}

#[test]
fn completions_for_each_shell_and_a_manual_page() {
    for (shell, mark) in [
        ("zsh", "#compdef brazex"),
        ("fish", "complete -c brazex"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[brazex]"),
    ] {
        let run = brazex(&["completions", shell]).run();
        run.assert_success();
        let text = String::from_utf8_lossy(&run.stdout);
        assert!(text.contains(mark), "{shell}: {mark} not in the script");
        assert!(text.contains("changes-since"), "{shell}: flags missing");
    }
    brazex(&["completions", "tcsh"]).run().assert_exit(2);

    let run = brazex(&["manpage"]).run();
    run.assert_success();
    let page = String::from_utf8_lossy(&run.stdout);
    assert!(page.contains(".TH brazex 1"), "{page}");
    assert!(
        page.contains("brazex\\-process(1)"),
        "the page lists the commands"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("man1");
    brazex(&["manpage", "--dir", pages.to_str().expect("utf-8")])
        .run()
        .assert_success();
    let process = std::fs::read_to_string(pages.join("brazex-process.1")).expect("page");
    assert!(process.contains("changes\\-since"), "flags of process");
    assert!(pages.join("brazex-run.1").is_file());
}
