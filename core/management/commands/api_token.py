"""Print (and create if needed) the API token of a user, for an integration."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from core import services


class Command(BaseCommand):
    help = "Print the API token of USERNAME; --rotate replaces it."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--rotate", action="store_true", help="replace the existing token")

    def handle(self, *args, username, rotate, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"no user {username!r}") from error
        if rotate:
            token = services.api_token_regenerate(user=user)
        else:
            token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
