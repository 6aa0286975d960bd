"""One CLI grammar (issue 10, "CLI shape"): every global option works before or after the
command and its positionals, means the same in both places, and is listed by each command's
--help. A bad value is a usage error (exit 2) wherever it stands.
"""
import base64
import json

import pytest

from floe_testlib import EXIT_USAGE, assert_error, ok, repo_for

NO_ENV = {"FLOE_MANIFEST": None, "FLOE_ENVIRONMENT": None, "FLOE_CA_FILE": None,
          "FLOE_PULL_SECRET": None}

# Every global option with a value it accepts here (an anonymous loopback registry).
GLOBAL_OPTIONS = {
    "--verbose": [],
    "--insecure": [],
    "--plain-http": [],
    "--concurrency": ["2"],
    "--timeout": ["30"],
    "--limit-rate": ["500M"],
    "--speed-limit": ["1K"],
    "--speed-time": ["20"],
    "--progress": ["json"],
    "--chunk-size": ["1M"],
    "--mount-from": ["some/other"],
    "--range-parts": ["2"],
    "--fsync": [],
    "--env": None,          # needs a manifest: checked with --config below
    "--config": None,
    "--ca-file": None,      # needs a file: below
    "--pull-secret": None,  # needs a file: below
}


@pytest.fixture
def pushed(run_floe, registry_anon, request, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    ref = f"{registry_anon.host}/{repo_for(request)}:1"
    ok(run_floe("artifact", "push", ref, data, env=NO_ENV))
    return ref


def test_every_global_option_is_listed_by_each_command_help(run_floe):
    for command in (["artifact", "push"], ["artifact", "pull"], ["artifact", "inspect"],
                    ["artifact", "copy"], ["artifact", "mirror"], ["registry", "ping"],
                    ["config", "show"], ["auth", "which"], ["login"]):
        out = ok(run_floe(*command, "--help", env=NO_ENV)).stdout
        assert "Global options" in out, command
        for option in GLOBAL_OPTIONS:
            assert option in out, (command, option)


@pytest.mark.parametrize("option", [o for o, v in GLOBAL_OPTIONS.items() if v is not None])
def test_a_global_option_after_the_command_is_taken(run_floe, pushed, tmp_path, option):
    value = GLOBAL_OPTIONS[option]
    before = run_floe(option, *value, "artifact", "pull", pushed, "-o", tmp_path / "a",
                      env=NO_ENV)
    after = run_floe("artifact", "pull", pushed, "-o", tmp_path / "b", option, *value,
                     env=NO_ENV)
    ok(before)
    ok(after)
    assert (tmp_path / "b" / "data.csv").read_text() == "a,b\n1,2\n"
    if option == "--verbose":
        assert " -> 200" in after.stderr and " -> 200" in before.stderr
    if option == "--progress":
        events = [json.loads(l) for l in after.stderr.splitlines() if l.startswith("{")]
        assert any(e["event"] == "done" for e in events), after.stderr


def test_file_options_after_the_command(run_floe, registry_anon, pushed, tmp_path):
    manifest = tmp_path / "platform.yaml"
    repo = pushed.split("/", 1)[1].rsplit(":", 1)[0]
    ns, name = repo.rsplit("/", 1)
    manifest.write_text(f"artifacts:\n  registry:\n    uri: oci://{registry_anon.host}/other\n"
                        f"  environments:\n    test:\n      uri: oci://{registry_anon.host}/{ns}\n")
    # --config and --env after the command and its positionals: the short name resolves.
    ok(run_floe("artifact", "pull", f"{name}:1", "-o", tmp_path / "c", "--config", manifest,
                "--env", "test", env=NO_ENV))
    assert (tmp_path / "c" / "data.csv").exists()
    shown = ok(run_floe("config", "show", "--json", "--env", "test", "--config", manifest,
                        env=NO_ENV)).stdout
    assert json.loads(shown)["environment"] == "test"
    # --ca-file and --pull-secret take files; given after, they are checked the same way.
    assert_error(run_floe("artifact", "inspect", pushed, "--ca-file", tmp_path / "missing.pem",
                          env=NO_ENV), EXIT_USAGE, "--ca-file")
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"auths": {}}))
    ok(run_floe("artifact", "inspect", pushed, "--pull-secret", secret, env=NO_ENV))


@pytest.mark.parametrize("args", [["--concurrency", "0"], ["--timeout", "x"],
                                  ["--progress", "loud"], ["--limit-rate", "fast"]])
def test_a_bad_value_after_the_command_is_a_usage_error(run_floe, pushed, tmp_path, args):
    proc = run_floe("artifact", "pull", pushed, "-o", tmp_path / "d", *args, env=NO_ENV)
    assert_error(proc, EXIT_USAGE, args[0])
    assert not (tmp_path / "d").exists()


def test_a_flag_beats_its_variable_wherever_the_flag_stands(run_floe, registry_basic, tmp_path):
    # FLOE_PULL_SECRET names another host's secret; --pull-secret (before or after the command)
    # names the right one, and wins.
    reg = registry_basic
    auth = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    good, other = tmp_path / "good.json", tmp_path / "other.json"
    good.write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
    other.write_text(json.dumps({"auths": {"elsewhere.example:5000": {"auth": auth}}}))
    env = {**NO_ENV, "FLOE_PULL_SECRET": other, "FLOE_REGISTRY_USERNAME": None,
           "FLOE_REGISTRY_PASSWORD": None}
    for args in (["--pull-secret", good, "auth", "which", reg.host, "--json"],
                 ["auth", "which", reg.host, "--json", "--pull-secret", good]):
        got = json.loads(ok(run_floe(*args, env=env)).stdout)
        assert got["source"] == f"pull secret {good}", (args, got)
    # The variable alone names the other host: nothing for this one.
    assert json.loads(ok(run_floe("auth", "which", reg.host, "--json", env=env)).stdout)[
        "kind"] == "anonymous"
    # A variable naming a missing CA file is an error unless the flag replaces it.
    ca_env = {**NO_ENV, "FLOE_CA_FILE": tmp_path / "missing.pem"}
    assert_error(run_floe("config", "show", env=ca_env), EXIT_USAGE, "FLOE_CA_FILE")
    ca = tmp_path / "ca.pem"
    ca.write_text("not used\n")
    proc = run_floe("auth", "which", reg.host, "--ca-file", ca, env=ca_env)
    assert proc.returncode == 0, proc.stderr
