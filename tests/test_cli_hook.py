"""Add-ins extend the command line through the add-in host (`partnercrmd_cli_commands`), issue #15 item 7.

Black-box: real `partnercrmd` processes, with add-ins installed the way pip would (a `.dist-info` naming them
in the `partnercrmd.addins` entry-point group, on PYTHONPATH), and the templates add-in as installed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from partnercrmd.testing import addin_site
from tests.daemon_process import describe, run_cli

HELLO_ADDIN = """
from partnercrmd.sdk import hookimpl


def hello(args, paths):
    print(f"hello {args.name} from {paths.config_dir.name}")
    return 0


@hookimpl
def partnercrmd_cli_commands(subcommands):
    command = subcommands.add_parser("hello", help="greets, from an add-in")
    command.add_argument("--name", default="world")
    command.set_defaults(func=hello)
"""
RAISING_ADDIN = """
from partnercrmd.sdk import hookimpl


@hookimpl
def partnercrmd_cli_commands(subcommands):
    subcommands.add_parser("half-built", help="added before the add-in failed")
    raise RuntimeError("commands exploded")
"""
CLASHING_ADDIN = """
from partnercrmd.sdk import hookimpl


@hookimpl
def partnercrmd_cli_commands(subcommands):
    subcommands.add_parser("version", help="takes a built-in command's name")
"""
UNIMPORTABLE_ADDIN = "import partnercrmd_no_such_module\n"


def install_addins(site: Path, addins: dict[str, str]) -> dict[str, str]:
    """Each add-in (entry-point name: module source) installed in `site`; the environment that finds them."""
    modules = {name: "cli_addin_" + name.replace("-", "_") for name in addins}
    sources = {modules[name]: source for name, source in addins.items()}
    return addin_site(site, modules, distribution="cliaddins", sources=sources)


def listed_commands(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The command names `partnercrmd --help` lists (its `{serve,version,…}` line)."""
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("{serve,"))
    return set(line.strip().strip("{}").split(","))


@pytest.fixture
def hello_site(tmp_path: Path) -> dict[str, str]:
    return install_addins(tmp_path / "site", {"hello-cli": HELLO_ADDIN})


def test_an_addins_command_is_listed_in_the_help_and_runs(tmp_path: Path, hello_site: dict[str, str]) -> None:
    help_result = run_cli(tmp_path / "home", "--help", extra_env=hello_site)
    assert help_result.returncode == 0, describe(help_result)
    assert {"hello", "version", "books"} <= listed_commands(help_result)

    result = run_cli(tmp_path / "home", "hello", "--name", "Ada", extra_env=hello_site)
    assert result.returncode == 0, describe(result)
    assert result.stdout == "hello Ada from home\n"  # the command got its arguments and the daemon's Paths


@pytest.mark.parametrize("disabled", ["hello-cli", "*", "templates, hello-cli"])
def test_an_addin_disabled_by_the_switch_adds_no_command(
    tmp_path: Path, hello_site: dict[str, str], disabled: str
) -> None:
    env = {**hello_site, "PARTNERCRMD_DISABLE_ADDINS": disabled}
    help_result = run_cli(tmp_path / "home", "--help", extra_env=env)
    assert help_result.returncode == 0, describe(help_result)
    assert "hello" not in listed_commands(help_result)
    assert "version" in listed_commands(help_result)

    result = run_cli(tmp_path / "home", "hello", extra_env=env)
    assert result.returncode == 2, describe(result)
    assert "invalid choice: 'hello'" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_addins_leave_out_their_commands_and_every_other_command_works(tmp_path: Path) -> None:
    env = install_addins(
        tmp_path / "site",
        {
            "hello-cli": HELLO_ADDIN,
            "raising-cli": RAISING_ADDIN,
            "clashing-cli": CLASHING_ADDIN,
            "unimportable-cli": UNIMPORTABLE_ADDIN,
        },
    )
    help_result = run_cli(tmp_path / "home", "--help", extra_env=env)
    assert help_result.returncode == 0, describe(help_result)
    commands = listed_commands(help_result)
    assert "hello" in commands
    assert "half-built" not in commands  # what the failing add-in added before it raised is taken out again
    assert "half-built" not in help_result.stdout
    assert "'raising-cli' failed to add its commands: RuntimeError: commands exploded" in help_result.stderr
    assert "'clashing-cli' failed to add its commands" in help_result.stderr
    assert "unimportable-cli" in help_result.stderr and "ModuleNotFoundError" in help_result.stderr
    assert "Traceback" not in help_result.stderr

    hello = run_cli(tmp_path / "home", "hello", extra_env=env)
    assert (hello.returncode, hello.stdout) == (0, "hello world from home\n"), describe(hello)
    half_built = run_cli(tmp_path / "home", "half-built", extra_env=env)
    assert half_built.returncode == 2 and "invalid choice" in half_built.stderr, describe(half_built)
    version = run_cli(tmp_path / "home", "version", extra_env=env)  # a built-in command never asks add-ins
    assert (version.returncode, version.stderr) == (0, ""), describe(version)


def test_the_templates_addins_command_comes_through_the_hook_and_obeys_the_switch(tmp_path: Path) -> None:
    template = tmp_path / "crm.yaml"
    template.write_text("id: [not, a, template]\n", encoding="utf-8")
    result = run_cli(tmp_path / "home", "template", "validate", str(template))
    assert result.returncode == 1, describe(result)  # the command ran and found the file wrong
    assert str(template) in result.stdout + result.stderr

    disabled = run_cli(
        tmp_path / "home", "template", "validate", str(template), extra_env={"PARTNERCRMD_DISABLE_ADDINS": "templates"}
    )
    assert disabled.returncode == 2 and "invalid choice: 'template'" in disabled.stderr, describe(disabled)
