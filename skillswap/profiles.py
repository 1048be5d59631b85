"""Profiles: your own (/profile) and other people's (/user/<username>)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

bp = Blueprint("profile", __name__)


@bp.get("/profile")
@login_required
def show() -> str:
    return render_template("profile/show.html", user=current_user.record)
