"""The demo's logins, printed by `seed_demo` and by the banner of `serve_demo`."""

from portal.demo.city import DEMO_PASSWORD

# (user name, role and what they see); every demo login has the password DEMO_PASSWORD.
DEMO_LOGINS = [
    ("admin", "admin (portal administrator, Django admin at /admin/)"),
    ("liaison1", "liaison (服务企业专员), linked to enterprises 1–20"),
    ("liaison2", "liaison (服务企业专员), linked to enterprises 21–40"),
    ("leader1", "leader (挂包领导), linked to enterprises 1–20"),
    ("handler_labor", "handler (承办单位), 市人力资源和社会保障局"),
    ("handler_approval", "handler (承办单位), 市行政审批局"),
    ("handler_policy", "handler (承办单位), 市发展和改革委员会"),
    ("inspector1", "inspector (纪检监察), the whole city"),
    ("ent01", "entrepreneur of enterprise 1"),
    ("ent02", "entrepreneur of enterprise 2"),
]


def login_lines() -> list[str]:
    """The logins as the console prints them: a heading with the password, one line each."""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {username:<18} {what}" for username, what in DEMO_LOGINS]
    return lines
