"""Login for every console page; rule numbers on a page link to their plain-words help."""

import re

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.urls import Resolver404, resolve, reverse

from core.rules import RULES


class MachineApiMiddleware:
    """Serve machine-to-machine front doors without the console's middleware.

    Paths under ``MACHINE_API_PREFIXES`` (the Nchf charging door: a network element calling
    hundreds of times a second, issue 16) go straight to their view after SecurityMiddleware:
    no session, CSRF, user, messages or history work, which those views never use. The views
    authenticate their caller themselves (a host network's bearer token) and scope what they
    touch to its host network. A path that resolves to nothing takes the usual way.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefixes = tuple(getattr(settings, "MACHINE_API_PREFIXES", ()))

    def __call__(self, request):
        if self.prefixes and request.path_info.startswith(self.prefixes):
            try:
                match = resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404:
                return self.get_response(request)
            request.resolver_match = match
            response = match.func(request, *match.args, **match.kwargs)
            # What CommonMiddleware would add: clients keep the connection and read the body
            # by its length.
            if not response.streaming and not response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
            return response
        return self.get_response(request)


class ConsoleLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Redirect anonymous visitors of any console page to the login page.

    Views marked ``login_not_required`` (login, health) stay open. Paths under ``/api/`` are
    left to Django REST framework, which answers an anonymous client 401 with a JSON body
    instead of a redirect to a login form.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_RULE = re.compile(r"\((R\d{1,2}[ab]?)\)")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
_RAW_ELEMENTS = ("script", "style", "textarea", "option", "title", "pre", "code")


class RuleLinkMiddleware:
    """Turn a rule number in a console page's text, "(R17)", into a small link to its help.

    Rule numbers stay in code, tests and documents; an operator sees a discreet link that
    explains the rule in plain words (core.rules) instead of a bare code. Only text between
    tags is touched, never attributes, scripts, form options or preformatted text.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path_info.startswith(("/api/", "/admin/"))
            or response.streaming
            or not response.get("Content-Type", "").startswith("text/html")
        ):
            return response
        html = response.content.decode(response.charset or "utf-8")
        if "(R" not in html:
            return response
        response.content = self.link_rules(html, reverse("help-rules")).encode(
            response.charset or "utf-8"
        )
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response

    @staticmethod
    def link_rules(html: str, help_url: str) -> str:
        """Link the rule numbers of the text parts of an HTML page."""
        parts = _TAG_OR_TEXT.split(html)
        raw_depth = 0
        for index, part in enumerate(parts):
            if part.startswith("<"):
                name = (
                    part[1:].lstrip("/").split(None, 1)[0].rstrip(">").lower() if part[1:] else ""
                )
                if name in _RAW_ELEMENTS:
                    raw_depth += -1 if part.startswith("</") else 1
                    raw_depth = max(raw_depth, 0)
                continue
            if raw_depth or "(R" not in part:
                continue
            parts[index] = _RULE.sub(lambda match: _rule_link(match.group(1), help_url), part)
        return "".join(parts)


def _rule_link(code: str, help_url: str) -> str:
    rule = RULES.get(code)
    if rule is None:
        return f"({code})"
    title = rule[0].replace('"', "&quot;")
    return (
        f'<a class="rule-ref" href="{help_url}#{code}" title="How billing works: {title}">'
        f'<span aria-hidden="true">?</span><span class="sr-only">rule: {title}</span></a>'
    )
