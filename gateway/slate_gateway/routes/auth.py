"""Routes owned by the auth service: identity and people.

A few routes need the edge: 2FA registrations re-issue tokens (cookies for
browsers, as Zou), the app-login exchange records the client IP, and the
presence sheet is CSV. Their handlers are at the bottom of this module
(``handler="routes.auth:<fn>"``).
"""

from dataclasses import replace

from . import ADMIN, ANY, PUBLIC, Route, crud

_H = "routes.auth:"
_DAY_OFF_WRITE = ANY  # the person themself or an admin: checked by auth

ROUTES = [
    # ---------------------------------------------------------------- session
    Route("POST", "/auth/login", "auth", "login", PUBLIC, handler="login", summary="Log in; returns tokens (and cookies for browsers)", body="object"),
    Route("GET", "/auth/logout", "auth", "logout", ANY, handler="logout", summary="Revoke the session's access and refresh tokens"),
    Route("GET", "/auth/refresh-token", "auth", "refresh", ANY, handler="refresh", token="refresh", summary="A new access token from a refresh token"),
    Route("GET", "/auth/authenticated", "auth", "authenticated", ANY, summary="The current person and organisation"),
    Route("POST", "/auth/change-password", "auth", "change_password", ANY, summary="Change one's password", body="object"),
    Route("POST", "/auth/reset-password", "auth", "request_password_reset", PUBLIC, summary="Mail a password reset link (same answer for any address)", body="object"),
    Route("PUT", "/auth/reset-password", "auth", "reset_password", PUBLIC, summary="Set a new password with a reset token", body="object"),
    Route("POST", "/auth/app-login/code", "auth", "create_app_login_code", ANY, status=201, summary="Mint a one-time app login code bound to a PKCE challenge", body="object"),
    Route("POST", "/auth/app-login/token", "auth", "exchange_app_login_code", PUBLIC, handler=_H + "app_login_token", summary="Trade an app login code and its PKCE verifier for tokens", body="object"),
    # ---------------------------------------------------------------- second factors
    Route("PUT", "/auth/totp", "auth", "pre_enable_totp", ANY, summary="Start TOTP enrolment: secret and provisioning URI", body="object"),
    Route("POST", "/auth/totp", "auth", "enable_totp", ANY, handler=_H + "with_token_cookies", summary="Enable TOTP with a code; returns recovery codes and fresh tokens", body="object"),
    Route("DELETE", "/auth/totp", "auth", "disable_totp", ANY, summary="Disable TOTP (needs a second factor)", body="object"),
    Route("GET", "/auth/email-otp", "auth", "send_email_otp", PUBLIC, summary="Mail a one-time code (same answer for any address)"),
    Route("PUT", "/auth/email-otp", "auth", "pre_enable_email_otp", ANY, summary="Start email OTP enrolment: mails a code", body="object"),
    Route("POST", "/auth/email-otp", "auth", "enable_email_otp", ANY, handler=_H + "with_token_cookies", summary="Enable email OTP with the mailed code; returns recovery codes and fresh tokens", body="object"),
    Route("DELETE", "/auth/email-otp", "auth", "disable_email_otp", ANY, summary="Disable email OTP (needs a second factor)", body="object"),
    Route("GET", "/auth/fido", "auth", "fido_challenge", PUBLIC, summary="WebAuthn authentication options for a person with FIDO"),
    Route("PUT", "/auth/fido", "auth", "pre_register_fido", ANY, summary="WebAuthn registration options", body="object"),
    Route("POST", "/auth/fido", "auth", "register_fido", ANY, handler=_H + "with_token_cookies", summary="Register a FIDO device; returns recovery codes and fresh tokens", body="object"),
    Route("DELETE", "/auth/fido", "auth", "unregister_fido", ANY, summary="Unregister a FIDO device (needs a second factor)", body="object"),
    Route("PUT", "/auth/recovery-codes", "auth", "new_recovery_codes", ANY, summary="Replace one's recovery codes (needs a second factor)", body="object"),
    Route("DELETE", "/actions/persons/<person_id>/disable-two-factor-authentication", "auth", "admin_disable_two_factor", ADMIN, summary="Turn off every second factor of a person (admin)"),
    # ---------------------------------------------------------------- CRUD
    # PUT /data/persons/<id> is open to anyone on their own row (auth drops
    # the fields only an admin may set).
    *[replace(r, roles=ANY) if r.method == "PUT" else r for r in crud("persons", "auth", read=ANY, write=ADMIN, name="person")],
    *crud("organisations", "auth", read=ANY, write=ADMIN, name="organisation"),
    *crud("studios", "auth", read=ANY, write=ADMIN, name="studio"),
    *crud("departments", "auth", read=ANY, write=ADMIN, name="department"),
    *crud("day-offs", "auth", read=ANY, write=_DAY_OFF_WRITE, name="day off"),
    *crud("search-filters", "auth", read=ADMIN, write=ADMIN, name="search filter"),
    *crud("search-filter-groups", "auth", read=ADMIN, write=ADMIN, name="search filter group"),
    *crud("hardware-items", "auth", read=ANY, write=ADMIN, name="hardware item"),
    # ---------------------------------------------------------------- persons' actions
    Route("POST", "/actions/persons/<person_id>/change-password", "auth", "admin_change_password", ADMIN, summary="Set a person's password (admin)", body="object"),
    Route("GET", "/actions/persons/<person_id>/invite", "auth", "invite_person", ADMIN, summary="Mail an invitation with a link to choose a password"),
    Route("POST", "/actions/persons/<person_id>/reset-password-link", "auth", "reset_password_link", ADMIN, summary="A password reset link to hand over (admin)", body="object"),
    Route("DELETE", "/actions/persons/<person_id>/clear-avatar", "auth", "clear_avatar", ADMIN, status=204, summary="Remove a person's avatar (admin)"),
    Route("DELETE", "/actions/user/clear-avatar", "auth", "clear_avatar", ANY, status=204, summary="Remove one's own avatar"),
    Route("POST", "/actions/persons/<person_id>/departments/add", "auth", "add_person_to_department", ADMIN, status=201, summary="Add a person to a department", body="object"),
    Route("DELETE", "/actions/persons/<person_id>/departments/<department_id>", "auth", "remove_person_from_department", ADMIN, status=204, summary="Remove a person from a department"),
    # ---------------------------------------------------------------- departments
    Route("GET", "/data/departments/<department_id>/persons", "auth", "department_persons", ANY, summary="Persons of a department"),
    Route("GET", "/data/departments/hardware-items", "auth", "all_department_hardware_items", ADMIN, summary="Hardware items by department"),
    Route("POST", "/data/departments/<department_id>/hardware-items", "auth", "add_hardware_item_to_department", ADMIN, status=201, summary="Link a hardware item to a department", body="object"),
    Route("GET", "/data/departments/<department_id>/hardware-items/<hardware_item_id>", "auth", "department_hardware_item", ADMIN, summary="A hardware item of a department"),
    Route("DELETE", "/data/departments/<department_id>/hardware-items/<hardware_item_id>", "auth", "remove_hardware_item_from_department", ADMIN, status=204, summary="Unlink a hardware item from a department"),
    Route("GET", "/data/departments/software-licenses", "auth", "all_department_software", ADMIN, summary="Software licences by department"),
    Route("POST", "/data/departments/<department_id>/software-licenses", "auth", "add_software_to_department", ADMIN, status=201, summary="Link a software licence to a department", body="object"),
    Route("GET", "/data/departments/<department_id>/software-licenses/<software_id>", "auth", "department_software", ADMIN, summary="A software licence of a department"),
    Route("DELETE", "/data/departments/<department_id>/software-licenses/<software_id>", "auth", "remove_software_from_department", ADMIN, status=204, summary="Unlink a software licence from a department"),
    # ---------------------------------------------------------------- user filters
    Route("GET", "/data/user/filters", "auth", "user_filters", ANY, summary="The caller's saved search filters, by list type and project"),
    Route("POST", "/data/user/filters", "auth", "create_user_filter", ANY, status=201, summary="Save a search filter", body="object"),
    Route("PUT", "/data/user/filters/<filter_id>", "auth", "update_user_filter", ANY, summary="Update a saved search filter", body="object"),
    Route("DELETE", "/data/user/filters/<filter_id>", "auth", "delete_user_filter", ANY, status=204, summary="Delete a saved search filter"),
    Route("GET", "/data/user/filter-groups", "auth", "user_filter_groups", ANY, summary="The caller's search filter groups"),
    Route("POST", "/data/user/filter-groups", "auth", "create_user_filter_group", ANY, status=201, summary="Create a search filter group", body="object"),
    Route("GET", "/data/user/filter-groups/<filter_group_id>", "auth", "get_user_filter_group", ANY, summary="A search filter group"),
    Route("PUT", "/data/user/filter-groups/<filter_group_id>", "auth", "update_user_filter_group", ANY, summary="Update a search filter group", body="object"),
    Route("DELETE", "/data/user/filter-groups/<filter_group_id>", "auth", "delete_user_filter_group", ANY, status=204, summary="Delete a search filter group"),
    # ---------------------------------------------------------------- logs
    Route("GET", "/data/user/desktop-login-logs", "auth", "desktop_login_logs", ANY, summary="The caller's desktop login logs"),
    Route("POST", "/data/user/desktop-login-logs", "auth", "create_desktop_login_log", ANY, status=201, summary="Record a desktop login", body="object"),
    Route("GET", "/data/persons/<person_id>/desktop-login-logs", "auth", "desktop_login_logs", ANY, summary="A person's desktop login logs (self, manager, admin)"),
    Route("POST", "/data/persons/<person_id>/desktop-login-logs", "auth", "create_desktop_login_log", ANY, status=201, summary="Record a person's desktop login (self, admin)", body="object"),
    Route("GET", "/data/persons/presence-logs/<month_date>", "auth", "presence_logs", ADMIN, handler=_H + "presence_csv", summary="Desktop presence sheet of a month (CSV)"),
    Route("GET", "/data/events/login-logs/last", "auth", "last_login_logs", ADMIN, summary="Newest login logs (cursor paging)"),
    # ---------------------------------------------------------------- day-offs
    Route("GET", "/data/persons/<person_id>/day-offs", "auth", "person_day_offs", ANY, summary="A person's day-offs"),
    Route("GET", "/data/persons/<person_id>/day-offs/<date>", "auth", "person_day_off", ANY, summary="A person's day-off on a date ({} if none)"),
    Route("GET", "/data/persons/<person_id>/day-offs/week/<year>/<week>", "auth", "person_day_offs_for_week", ANY, summary="A person's day-offs in an ISO week"),
    Route("GET", "/data/persons/<person_id>/day-offs/month/<year>/<month>", "auth", "person_day_offs_for_month", ANY, summary="A person's day-offs in a month"),
    Route("GET", "/data/persons/<person_id>/day-offs/year/<year>", "auth", "person_day_offs_for_year", ANY, summary="A person's day-offs in a year"),
    Route("GET", "/data/persons/day-offs/<year>", "auth", "day_offs_for_year", ANY, summary="Day-offs of a year the caller may read"),
    Route("GET", "/data/persons/day-offs/<year>/<month>", "auth", "day_offs_for_month", ANY, summary="Day-offs of a month the caller may read"),
    Route("GET", "/data/user/day-offs/<date>", "auth", "user_day_off", ANY, summary="The caller's day-off on a date ({} if none)"),
    Route("GET", "/data/projects/<project_id>/day-offs", "auth", "project_day_offs", ANY, summary="Day-offs of a production's team, by person (team from assets)"),
]



_SSO = "Not served: SAML and OIDC need an external identity provider (none here to configure or test against); local login, 2FA and app login are served."
NOT_SERVED = {
    ("GET", "/auth/oidc/callback"): _SSO,
    ("GET", "/auth/oidc/login"): _SSO,
    ("GET", "/auth/saml/login"): _SSO,
    ("POST", "/auth/saml/sso"): _SSO,
}


# -------------------------------------------------------------------- handlers
def _call(gw, route, request, args, context, **extra):
    body = gw.read_body(route, request)
    kwargs = dict(args)
    kwargs.update(route.fixed)
    kwargs["query"] = {k: request.args.get(k) for k in request.args}
    if body is not None:
        kwargs["body"] = body
    kwargs.update(extra)
    return _rpc(gw, route.service, route.rpc, kwargs, context)


def _rpc(gw, service, method, kwargs, context):
    call = getattr(gw, "call", None)  # the gateway's metered call when it has one
    return call(service, method, kwargs, context) if call else gw.rpc.call(service, method, kwargs, context)


def with_token_cookies(gw, route, request, args, claims, context):
    """2FA registration: Zou hands out fresh tokens, as cookies too for browsers."""
    from ..app import is_browser, json_response
    from ..handlers import _set_cookies

    result = _call(gw, route, request, args, context)
    resp = json_response(result, route.status)
    if is_browser(request) and isinstance(result, dict):
        _set_cookies(resp, result.get("access_token"), result.get("refresh_token"))
    return resp


def app_login_token(gw, route, request, args, claims, context):
    from ..app import json_response

    body = gw.read_body(route, request)
    ip = request.headers.get("X-Real-Ip") or request.remote_addr
    result = _rpc(gw, "auth", "exchange_app_login_code", {"body": body, "ip": ip}, context)
    return json_response(result, 200)


def presence_csv(gw, route, request, args, claims, context):
    """Zou answers the presence sheet as a CSV attachment."""
    import csv
    import io

    from werkzeug.wrappers import Response

    rows = _call(gw, route, request, args, context)
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    resp = Response(out.getvalue(), status=200)
    resp.headers["Content-Type"] = "text/csv"
    resp.headers["Content-Disposition"] = "attachment; filename=kitsu_export.csv"
    return resp
