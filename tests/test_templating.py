"""Mail templates: a shop's own copy first, the installed templates for what the copy lacks."""

from __future__ import annotations

from pathlib import Path

from mailgate.config.loading import shipped_dir
from mailgate.templating import mail_env, render_mail


def test_a_shops_copy_wins_and_a_template_it_lacks_comes_from_the_installed_ones(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "pin_changed.txt.j2").write_text("Subject: 変更\n\nお店の文面\n", encoding="utf-8")
    env = mail_env(tmp_path)
    assert render_mail(env, "pin_changed") == ("変更", "お店の文面\n")
    shipped = (shipped_dir("templates") / "mail" / "staff_alerts.txt.j2").read_text(encoding="utf-8")
    assert env.loader is not None and env.loader.get_source(env, "staff_alerts.txt.j2")[0] == shipped
