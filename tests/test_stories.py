"""Message stories: the catalogue's sequences of one message's notifications, as data and rendered."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.catalogue import stories
from connect_hooks.cli.main import main
from connect_hooks.errors import BadInput

STORY_FILES = sorted(catalogue.samples_root().glob("story/*/*.json"))
NAMES = [f"story/{p.parent.name}/{p.stem}" for p in STORY_FILES]


def at_path(document: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        document = document[part]
    return document


def test_every_story_file_is_listed_and_no_story_is_a_sample() -> None:
    assert list(stories.names()) == NAMES
    assert {name.split("/")[1] for name in NAMES} >= {"sms", "whatsapp", "rcs", "email", "voice"}
    assert not set(NAMES) & set(catalogue.names())
    assert not catalogue.is_sample("story/sms/delivered")


@pytest.mark.parametrize("path", STORY_FILES, ids=NAMES)
def test_a_story_file_holds_together(path: Any) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    offsets = [step["at"] for step in raw["steps"]]
    assert offsets[0] == 0 and offsets == sorted(offsets), "steps are in time order, the first at 0"
    assert len(raw["steps"]) >= 2
    for step in raw["steps"]:
        template = catalogue.get(step["sample"])  # the sample exists
        assert template.channel == path.parent.name, "a story stays on its channel"
        # a shared id replaces a fresh one: it must be a generated field of every step
        assert set(raw["shared"]) <= {field for field, _ in template.generated}


@pytest.mark.parametrize("name", NAMES)
def test_a_rendered_story_shares_its_ids_and_its_times_rise(name: str) -> None:
    story = stories.get(name)
    steps = stories.render(name)
    documents = [json.loads(step.body) for step in steps]
    for step, document in zip(steps, documents, strict=True):
        jsonschema.validate(document, catalogue.schema(step.sample))
    for field in story.shared:
        assert len({at_path(d, field) for d in documents}) == 1, f"{field} differs between steps"
    again = [json.loads(step.body) for step in stories.render(name)]
    for field in story.shared:
        assert at_path(again[0], field) != at_path(documents[0], field), "each run is a new message"
    # every timestamp field of a step is the first step's plus the step's offset
    for step, document in zip(steps, documents, strict=True):
        stamps = [f for f, g in catalogue.get(step.sample).generated if g.startswith("timestamp")]
        for field in stamps:
            first = next(f for f, g in catalogue.get(steps[0].sample).generated if g.startswith("timestamp"))
            started = dt.datetime.fromisoformat(at_path(documents[0], first))
            assert dt.datetime.fromisoformat(at_path(document, field)) - started == dt.timedelta(seconds=step.at)


def test_inbound_messages_of_a_conversation_are_each_their_own() -> None:
    documents = [json.loads(step.body) for step in stories.render("story/sms/conversation", seed=5)]
    assert len({d["tid"] for d in documents}) == len(documents)
    assert len({d["message"] for d in documents}) == len(documents)  # the steps' --set texts
    assert len({d["oa"] for d in documents}) == 1  # one user


def test_a_seed_gives_the_same_story_bytes() -> None:
    first = stories.render("story/whatsapp/read", seed=42)
    assert first == stories.render("story/whatsapp/read", seed=42)
    assert first != stories.render("story/whatsapp/read", seed=43)


def test_an_unknown_story_is_bad_input_with_a_close_name() -> None:
    with pytest.raises(BadInput, match="did you mean story/whatsapp/read"):
        stories.get("story/whatsapp/reed")


def test_samples_show_prints_every_step_and_raw_gives_one_body_a_line() -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["samples", "show", "story/voice/answered", "--seed", "3"])
    assert shown.exit_code == 0, shown.stderr
    offsets = [line.split()[0] for line in shown.stdout.splitlines() if line.startswith("T+")]
    assert offsets == [f"T+{step.at:g}s" for step in stories.get("story/voice/answered").steps]
    raw = runner.invoke(main, ["samples", "show", "story/voice/answered", "--seed", "3", "--raw"])
    assert raw.stdout_bytes.split(b"\n")[:-1] == [s.body for s in stories.render("story/voice/answered", seed=3)]


def test_samples_list_finds_stories_by_text() -> None:
    result = CliRunner().invoke(main, ["samples", "list", "story/email"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == [
        n for n in NAMES if n.startswith("story/email/")
    ]
