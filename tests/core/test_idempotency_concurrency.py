"""Concurrent retries with one Idempotency-Key agree: one outcome, the money moved once.

These run on PostgreSQL with real transactions: each thread has its own database connection,
as concurrent API requests do in production.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.models import IdempotencyKey
from subscribers import services
from subscribers.models import BalanceMovement, TopUp
from tests.subscribers.factories import BillingAccountFactory

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL"
)
pytestmark = [on_postgresql, pytest.mark.django_db(transaction=True)]


def run_together(calls) -> list:
    """Run callables in threads released at once; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # the test inspects what each thread met
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_concurrent_top_ups_with_one_key_get_one_answer_and_move_money_once(make_user):
    operator = make_user("op", "operator")
    token = Token.objects.create(user=operator)
    account = BillingAccountFactory(payment_model="prepaid")
    body = {
        "billingAccount": {"id": str(account.pk)},
        "amount": {"unit": account.currency, "value": "20.00"},
        "channel": "card",
        "reference": "PSP-CONCURRENT",
    }

    def top_up():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        response = client.post(
            "/api/v1/subscribers/topupBalance", body, format="json", HTTP_IDEMPOTENCY_KEY="same"
        )
        return response.status_code, response.json()

    results = run_together([top_up] * 20)

    assert all(isinstance(result, tuple) for result in results), results
    statuses = {status for status, _ in results}
    assert statuses == {201}, [r for r in results if r[0] != 201][:3]
    first_body = results[0][1]
    assert all(answer == first_body for _, answer in results)
    assert TopUp.objects.count() == 1
    assert BalanceMovement.objects.filter(billing_account=account).count() == 1
    assert services.balance_of(account) == Decimal("20.00")
    assert IdempotencyKey.objects.get(key="same").response_status == 201


class SlowView(APIView):
    """A money-moving stand-in that holds its transaction open until the test releases it."""

    permission_classes: list = []
    started = threading.Event()
    release = threading.Event()

    @idempotent
    def post(self, request):
        type(self).started.set()
        type(self).release.wait(timeout=10)
        return Response({"done": True}, status=201)


def _slow_post(user):
    request = APIRequestFactory().post(
        "/api/v1/test/slow", {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY="slow"
    )
    force_authenticate(request, user=user)
    return SlowView.as_view()(request)


def test_a_request_that_waits_too_long_is_told_in_progress_never_another_outcome(
    make_user, settings
):
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.3
    user = make_user("slow-user", "operator")
    SlowView.started.clear()
    SlowView.release.clear()
    first: dict = {}

    def run_first():
        try:
            first["response"] = _slow_post(user)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run_first)
    thread.start()
    assert SlowView.started.wait(timeout=10)

    def run_second():
        try:
            return _slow_post(user)
        finally:
            connections.close_all()

    waiting = run_together([run_second])[0]
    SlowView.release.set()
    thread.join()

    assert waiting.status_code == 409
    assert waiting.data["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert waiting["Retry-After"] == "1"
    assert first["response"].status_code == 201
    again = run_together([run_second])[0]
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.data == {"done": True}
