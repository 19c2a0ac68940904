"""Login for every console page; the API authenticates on its own."""

from django.contrib.auth.middleware import LoginRequiredMiddleware


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
