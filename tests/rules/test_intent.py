"""An Intent's decision record: a copy of everything it holds."""

import dataclasses

from mailgate.rules.intent import Intent


def test_an_intents_record_is_asdicts_copy_sharing_nothing() -> None:
    intent = Intent(
        action="book",
        reason="STORES notice",
        rule="stores/booked",
        source="stores",
        customer={"name": "鈴木花子", "email": "a@example.jp"},
        fields={"external_id": "R1", "questions": [{"q": "初めて?", "a": ["はい"]}], "seats": (1, 2)},
        notes=("note",),
        trace=("hit",),
        notice_key="k",
    )
    record = intent.record()
    assert record == dataclasses.asdict(intent)
    assert record["fields"]["questions"] is not intent.fields["questions"]
    assert record["customer"] is not intent.customer
    record["fields"]["questions"][0]["a"].append("x")
    assert intent.fields["questions"][0]["a"] == ["はい"]
