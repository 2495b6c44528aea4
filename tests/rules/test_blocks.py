"""blocks: sections and label -> value lines for the vendors' layouts, with the variations real mail has."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.mail.parse import parse
from mailgate.rules.blocks import find, find_all, label_key, labelled, split_sections
from tests.conftest import CORPUS

MARKERS = {"after": ["[ 変更後 ]", "【変更後】"], "before": ["[ 変更前 ]", "【変更前】"]}


def notice(path: str) -> str:
    return parse((CORPUS / path).read_bytes()).text


# ------------------------------------------------------------------------------------------ corpus


def test_stores_booked_layout() -> None:
    values = labelled(notice("stores/booked-01.eml"))
    assert values == {
        "予約番号": ["87246923"],
        "予約内容": ["整体 60分コース"],
        "予約者": ["山田 太郎", "(ヤマダ タロウ)", "yamada.taro@example.jp", "090-1234-5678"],
        "予約日時": ["2026年12月03日 (木) 13:00 ~ 14:00"],
        "担当スタッフ": ["佐藤"],
    }


def test_stores_cancelled_and_inquiry_layouts() -> None:
    cancelled = labelled(notice("stores/cancelled-01.eml"))
    assert cancelled["予約者"] == ["山田 太郎"]
    assert "担当スタッフ" not in cancelled
    inquiry = labelled(notice("stores/inquiry-01.eml"))
    assert inquiry["お名前"] == ["中村 一郎"]
    assert inquiry["メールアドレス"] == ["ichiro.n@example.com"]
    assert inquiry["お問い合わせ内容"] == [
        "12月5日(土)の午前中に整体を予約したいのですが、",
        "空いている時間はありますか？",
    ]


def test_stores_changed_splits_into_after_and_before() -> None:
    sections = split_sections(notice("stores/changed-01.eml"), MARKERS)
    assert set(sections) == {"", "after", "before"}
    assert labelled(sections[""]) == {"予約番号": ["87250011"]}
    after, before = labelled(sections["after"]), labelled(sections["before"])
    assert after["予約日時"] == ["2026年12月10日 (木) 15:00 ~ 15:45"]
    assert before["予約日時"] == ["2026年12月08日 (火) 10:00 ~ 10:45"]
    assert after["予約者"] == ["鈴木 花子", "hanako@example.ne.jp", "080-2222-3333"]
    assert after["担当スタッフ"] == before["担当スタッフ"] == ["田中"]


@pytest.mark.parametrize("name", ["booked-01", "cancelled-01"])
def test_salonboard_layout(name: str) -> None:
    values = labelled(notice(f"salonboard/{name}.eml"))
    assert values["ご予約内容"] == []  # a heading, not a field
    assert values["予約番号"] == ["BE64275292"]
    assert values["氏名"] == ["井戸 貴之（イド タカユキ）"]
    assert values["来店日時"] == ["2026年12月02日（水）10:00"]
    assert values["指名スタッフ"] == ["指名なし"]
    assert values["メニュー"] == ["ボディケア＋整体＋骨盤矯正", "（所要時間目安：1時間30分）"]
    assert values["予約受付日時"] == ["2026年11月23日（月）14:08"]


def test_salonboard_extra_block() -> None:
    values = labelled(notice("salonboard/booked-01.eml"))
    assert values["合計金額"] == ["予約時合計金額\u30006,700円"]
    assert values["ご要望・ご相談"] == ["-"]


def test_airreserve_layout() -> None:
    values = labelled(notice("airreserve/booked-01.eml"))
    assert values == {
        "ご予約内容": [],
        "予約番号": ["11Q3XETM2"],
        "利用日時": ["2026/12/05(土) 12:00～13:00"],
        "メニュー名": ["整体 60分"],
        "ご利用の端末": ["iPhone 15"],
        "名前(姓)": ["田中"],
        "名前(名)": ["太郎"],
        "フリガナ(セイ)": ["タナカ"],
        "フリガナ(メイ)": ["タロウ"],
        "メールアドレス": ["tanaka@example.jp"],
        "電話番号": ["09012345678"],
    }


def test_forwarded_inline_notice_keeps_its_fields() -> None:
    values = labelled(notice("forwarded/stores-booked-inline.eml"))
    assert values["予約番号"] == ["87246923"]
    assert values["予約日時"] == ["2026年12月03日 (木) 13:00 ~ 14:00"]


# -------------------------------------------------------------------------------------- variations


def test_shuffled_order_and_inline_values() -> None:
    text = "◆予約日時: 2026年12月03日 (木) 13:00 ~ 14:00\n◆予約者:\n  山田 太郎\n◆予約番号:87246923\n"
    assert labelled(text) == {
        "予約日時": ["2026年12月03日 (木) 13:00 ~ 14:00"],
        "予約者": ["山田 太郎"],
        "予約番号": ["87246923"],
    }


def test_inline_value_then_indented_lines() -> None:
    text = "◆予約者: 山田 太郎\n  090-1234-5678\n\n次の行"
    assert labelled(text) == {"予約者": ["山田 太郎", "090-1234-5678"]}


def test_full_width_colons_and_unbulleted_labels() -> None:
    text = "予約日時：２０２６年１２月３日　１３：００〜１４：００\nお名前 ： 山田 太郎\n"
    assert labelled(text) == {
        "予約日時": ["２０２６年１２月３日　１３：００〜１４：００"],
        "お名前": ["山田 太郎"],
    }


def test_tabs_for_indentation_and_after_the_colon() -> None:
    text = "◆予約日時:\t2026/12/05 12:00\n◆予約者:\n\t山田 太郎\n\t\t090-1234-5678\n"
    assert labelled(text) == {"予約日時": ["2026/12/05 12:00"], "予約者": ["山田 太郎", "090-1234-5678"]}


def test_bracketed_labels() -> None:
    text = (
        "【予約番号】87246923\n【予約日時】：2026/12/05 12:00\n【お客様名】\n  山田 太郎\n[メニュー] カット\n"
    )
    assert labelled(text) == {
        "予約番号": ["87246923"],
        "予約日時": ["2026/12/05 12:00"],
        "お客様名": ["山田 太郎"],
        "メニュー": ["カット"],
    }


def test_labels_are_normalized() -> None:
    text = (
        "■名前（姓）：田中\n■ フリガナ（セイ） ：タナカ\n"
        "● 予約 日時 :\n  2026/12/05 12:00\n□メニュー名\n　カット\n"
    )
    assert list(labelled(text)) == ["名前(姓)", "フリガナ(セイ)", "予約日時", "メニュー名"]


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("◆予約日時:", "予約日時"),
        ("■名前（姓）：", "名前(姓)"),
        ("【予約番号】", "予約番号"),
        ("［ 予約番号 ］", "予約番号"),
        ("▼ご予約内容", "ご予約内容"),
        ("・担当 スタッフ：", "担当スタッフ"),
    ],
)
def test_label_key(label: str, key: str) -> None:
    assert label_key(label) == key


def test_full_width_space_indentation_and_blank_lines_inside_a_value() -> None:
    text = "■ご要望\n　一行目\n\n　二行目\n\n本文に戻る\n　これは値ではない\n"
    assert labelled(text) == {"ご要望": ["一行目", "二行目"]}


def test_a_value_block_ends_at_an_unindented_line() -> None:
    text = "◆担当スタッフ:\n  佐藤\n予約の詳細は管理画面でご確認ください。\n  続き\n"
    assert labelled(text) == {"担当スタッフ": ["佐藤"]}


def test_value_whose_indentation_was_lost_right_under_its_label() -> None:
    text = "【予約日時】\n2026/12/05 12:00\n\nご来店をお待ちしております。\n"
    assert labelled(text) == {"予約日時": ["2026/12/05 12:00"]}


def test_heading_followed_by_a_label_is_empty() -> None:
    assert labelled("◇ご予約内容\n■予約番号\n　BE1\n") == {"ご予約内容": [], "予約番号": ["BE1"]}


def test_first_occurrence_of_a_label_wins() -> None:
    assert labelled("◆予約日時:\n  A\n◆予約日時:\n  B\n") == {"予約日時": ["A"]}


def test_urls_times_and_sentences_are_not_labels() -> None:
    text = "https://coubic.com/rv/a1b2c3\n13:00から空いています\n※ご注意ください。\n"
    assert labelled(text) == {}


def test_indented_bullets_are_values_not_labels() -> None:
    text = "◆予約内容:\n  ・カット\n  ・カラー: 明るめ\n"
    assert labelled(text) == {"予約内容": ["・カット", "・カラー: 明るめ"]}


# ---------------------------------------------------------------------------------------- sections


def test_sections_match_full_width_and_spaced_markers() -> None:
    text = "頭\n［変更後］\n◆予約日時:\n  A\n 【 変更前 】 \n◆予約日時:\n  B\n"
    sections = split_sections(text, MARKERS)
    assert sections == {"": "頭", "after": "◆予約日時:\n  A", "before": "◆予約日時:\n  B\n"}


def test_sections_without_markers_is_the_whole_text() -> None:
    assert split_sections("本文\n", MARKERS) == {"": "本文\n"}


def test_only_whole_lines_are_markers() -> None:
    text = "予約は [ 変更後 ] をご覧ください\n"
    assert split_sections(text, MARKERS) == {"": text}


# -------------------------------------------------------------------------------------------- find


def test_find_the_first_label_present() -> None:
    values = {"来店日時": ["A"], "予約日時": ["B"]}
    assert find(values, ["予約日時", "来店日時"]) == ["B"]
    assert find(values, ["利用日時", "来店日時"]) == ["A"]
    assert find(values, ["利用日時"]) is None


def test_find_compares_nfkc_and_ignores_spaces() -> None:
    values = {"名前(姓)": ["田中"], "予約日時": ["B"]}
    assert find(values, ["名前（姓）"]) == ["田中"]
    assert find(values, ["予約 日時"]) == ["B"]
    assert find(values, ["■予約日時："]) == ["B"]


def test_find_returns_an_empty_list_for_a_heading() -> None:
    assert find({"ご予約内容": []}, ["ご予約内容"]) == []


def test_find_all_joins_split_fields() -> None:
    values = labelled(notice("airreserve/booked-01.eml"))
    assert find_all(values, ["名前(姓)", "名前(名)"]) == ["田中", "太郎"]
    assert find_all(values, ["フリガナ（セイ）", "フリガナ（メイ）"]) == ["タナカ", "タロウ"]
    assert find_all(values, ["ミドルネーム"]) is None


# -------------------------------------------------------------------------------------- properties

_NOTICE_CHARS = st.sampled_from(list("◆◇■【】[]:：　 \t\n予約日時名前ABC0123(（)）~〜-ー@"))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.text(_NOTICE_CHARS, max_size=200)))
def test_labelled_never_crashes(text: str) -> None:
    values = labelled(text)
    for key, lines in values.items():
        assert key
        assert all(line and line == line.strip(" \t\u3000\u00a0") for line in lines)
    split_sections(text, MARKERS)
