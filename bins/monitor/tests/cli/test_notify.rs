//! `monitor test-notify` with notifiers from a configuration file.

use crate::receiver::Receiver;
use crate::support::{Setup, stderr, stdout};

fn write_config(setup: &Setup, notifiers: &str) -> String {
    let path = setup.dir.path().join("invguard.toml");
    fs_err::write(&path, notifiers).unwrap();
    path.display().to_string()
}

#[test]
fn test_notify_reports_each_notifier() {
    let (working, broken) = (Receiver::start(), Receiver::start());
    for _ in 0..3 {
        broken.script(404, "{}", &[]);
    }
    let setup = Setup::healthy();
    let config = write_config(
        &setup,
        &format!(
            "[[monitor.notifiers]]\ntype = \"webhook\"\nurl = \"{}\"\n\n\
             [[monitor.notifiers]]\ntype = \"slack\"\nurl = \"{}\"\n",
            working.url("/hook/secret-1"),
            broken.url("/services/T0/B0/secret-2")
        ),
    );
    let output = setup.run(&["--config", &config, "test-notify"]);

    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "webhook[0]: delivered\nslack[1]: failed after 1 attempt: HTTP 404\n"
    );
    assert_eq!(working.kinds(), ["test"]);
    assert!(!stderr(&output).contains("secret-"), "{}", stderr(&output));
}

#[test]
fn test_notify_without_notifiers_exits_3() {
    let setup = Setup::healthy();
    let output = setup.run(&["test-notify"]);

    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("no notifiers configured"), "{}", stderr(&output));
}
