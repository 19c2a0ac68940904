"""Dunning (billing-rules R30): overdue invoices moved through their account's policy.

An invoice not paid by its due date becomes OVERDUE the next day and opens a dunning case. The
daily run (``dunning_run``, a Celery beat task) takes each step of the case's policy on the
day it falls due (due date + the step's days), once per invoice: a ``DunningRecord`` row says
what was done and when, and ``dunning.step_taken`` goes out through the outbox in the same
transaction. Barring outgoing services and terminating go through the subscribers services.

When the invoice is paid (or void) the case closes and the barring the dunning imposed is
lifted: only subscriptions the dunning barred (their open term began with a ``dunning …``
change), never an operator's own barring, and only once no other invoice of the account still
holds them barred. Payments call ``dunning_invoices_settled``; the daily run also closes the
cases of paid invoices, so nothing depends on that call.

Every case is moved in its own transaction with its row locked: a run that crashes midway
leaves each case either untouched or done, and a second run the same day changes nothing.
"""

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.outbox import publish
from invoicing.models import (
    DunningAction,
    DunningCase,
    DunningCaseStatus,
    DunningHold,
    DunningPolicy,
    DunningRecord,
    DunningRecordKind,
    DunningStep,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
)
from subscribers import services as subscriber_services
from subscribers.models import BillingAccount, Subscription, SubscriptionStatus
from subscribers.selectors import require_subscriber_change

logger = logging.getLogger(__name__)

# Statuses of an invoice that may fall overdue, and of one whose dunning ends.
PAYABLE_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)
SETTLED_STATUSES = (InvoiceStatus.PAID, InvoiceStatus.VOID)
# The lifecycle change a dunning barring writes on the subscription's term ("dunning INV-…"):
# how a barring the dunning imposed is told from an operator's own.
BAR_CHANGE_PREFIX = "dunning"
EVENT_STEP_TAKEN = "dunning.step_taken"


def _user(acting_user):
    return acting_user if getattr(acting_user, "is_authenticated", False) else None


def _audit(obj, acting_user, reason: str = ""):
    user = _user(acting_user)
    if user is not None:
        obj._history_user = user
    if reason:
        obj._change_reason = reason
    return obj


# --- policies ---------------------------------------------------------------------------------


def _check_steps(steps: list[dict]) -> list[dict]:
    if not steps:
        raise ValidationError({"steps": "a policy has at least one step"})
    checked = []
    last_days = 0
    for index, step in enumerate(steps, start=1):
        action = step.get("action")
        days = step.get("days_after_due")
        if action not in DunningAction.values:
            raise ValidationError({"steps": f"step {index}: unknown action {action!r}"})
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
            raise ValidationError({"steps": f"step {index}: days after the due date, 1 to 365"})
        if days < last_days:
            raise ValidationError(
                {"steps": f"step {index}: steps follow each other ({days} < {last_days} days)"}
            )
        last_days = days
        checked.append({"action": action, "days_after_due": days})
    actions = [step["action"] for step in checked]
    if DunningAction.TERMINATE in actions and actions[-1] != DunningAction.TERMINATE:
        raise ValidationError({"steps": "termination is the last step"})
    if actions.count(DunningAction.TERMINATE) > 1 or actions.count(DunningAction.BAR_OUTGOING) > 1:
        raise ValidationError({"steps": "barring and termination are taken once each"})
    return checked


def dunning_policy_save(
    *,
    brand,
    code: str,
    name: str,
    steps: list[dict],
    is_default: bool = False,
    policy: DunningPolicy | None = None,
    acting_user=None,
) -> DunningPolicy:
    """Create or change a brand's dunning policy and its ordered steps (R30).

    ``steps`` are ``{"action", "days_after_due"}`` in order. A step some invoice's dunning has
    already taken (or is waiting for) cannot be removed, only changed.
    """
    code = (code or "").strip().upper()
    if not code:
        raise ValidationError({"code": "a policy has a code"})
    if not (name or "").strip():
        raise ValidationError({"name": "a policy has a name"})
    checked = _check_steps(steps)
    with transaction.atomic():
        if policy is not None:
            policy = DunningPolicy.objects.select_for_update().get(pk=policy.pk)
            if policy.brand_id != brand.pk:
                raise ValidationError({"brand": "a policy stays with its brand"})
        clash = DunningPolicy.objects.filter(brand=brand, code=code)
        if policy is not None:
            clash = clash.exclude(pk=policy.pk)
        if clash.exists():
            raise ValidationError({"code": f"the brand has a policy {code} already"})
        if is_default:
            for other in (
                DunningPolicy.objects.select_for_update()
                .filter(brand=brand, is_default=True)
                .exclude(pk=getattr(policy, "pk", None))
            ):
                other.is_default = False
                _audit(other, acting_user, f"{code} is the default now").save()
        policy = policy or DunningPolicy(brand=brand)
        policy.code, policy.name, policy.is_default = code, name.strip(), is_default
        _audit(policy, acting_user, "saved").save()
        existing = {step.position: step for step in policy.steps.select_for_update()}
        for position, data in enumerate(checked, start=1):
            step = existing.pop(position, None) or DunningStep(policy=policy, position=position)
            if step.pk and (step.action, step.days_after_due) == (
                data["action"],
                data["days_after_due"],
            ):
                continue
            step.action, step.days_after_due = data["action"], data["days_after_due"]
            _audit(step, acting_user).save()
        for step in existing.values():
            used = (
                DunningRecord.objects.filter(step=step).exists()
                or DunningCase.objects.filter(Q(last_step=step) | Q(next_step=step)).exists()
            )
            if used:
                raise ValidationError(
                    {
                        "steps": f"step {step.position} ({step}) is used by invoices in dunning; "
                        "change it instead of removing it"
                    }  # fmt: skip
                )
            _audit(step, acting_user, "removed").delete()
        _cases_reschedule(policy)
    return policy


def _cases_reschedule(policy: DunningPolicy) -> None:
    """Give the open cases of a changed policy their next step and its day again."""
    steps = _steps_of(policy)
    cases = DunningCase.objects.filter(policy=policy, status=DunningCaseStatus.OPEN)
    for case in cases.select_related("invoice").select_for_update(of=("self",)).order_by("pk"):
        taken = case.records.filter(kind=DunningRecordKind.STEP).values_list("step_id", flat=True)
        taken = set(taken)
        step, date = _next_after(steps, taken, case.invoice.due_date)
        if (case.next_step_id, case.next_step_date) != (getattr(step, "pk", None), date):
            case.next_step, case.next_step_date = step, date
            case._change_reason = "policy changed"
            case.save(update_fields=["next_step", "next_step_date"])


def policy_for_account(account: BillingAccount, brand_id: int, cache: dict | None = None):
    """Return the policy an account follows: the one its code names, else its brand's default."""
    cache = {} if cache is None else cache
    key = (brand_id, account.dunning_policy or "")
    if key not in cache:
        policy = None
        if account.dunning_policy:
            policy = DunningPolicy.objects.filter(
                brand_id=brand_id, code=account.dunning_policy.strip().upper()
            ).first()
        if policy is None:
            policy = DunningPolicy.objects.filter(brand_id=brand_id, is_default=True).first()
        cache[key] = policy
    return cache[key]


# --- the daily run ----------------------------------------------------------------------------


def invoices_mark_overdue(*, today: dt.date) -> int:
    """Mark issued and partly paid invoices whose due date has passed OVERDUE (set-based)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Invoice.objects.select_for_update()
            .filter(
                kind=InvoiceKind.INVOICE,
                status__in=PAYABLE_STATUSES,
                due_date__lt=today,
                gross_total__gt=0,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        Invoice.objects.filter(pk__in=ids).update(status=InvoiceStatus.OVERDUE, updated_at=now)
        Invoice.history.bulk_history_create(
            list(Invoice.objects.filter(pk__in=ids)),
            update=True,
            default_change_reason="overdue (R30)",
            default_date=now,
        )
    return len(ids)


def _steps_of(policy: DunningPolicy | None) -> list[DunningStep]:
    return list(policy.steps.order_by("position")) if policy is not None else []


def _next_after(steps: list[DunningStep], taken: set[int], due_date: dt.date):
    for step in steps:
        if step.pk not in taken:
            return step, due_date + dt.timedelta(days=step.days_after_due)
    return None, None


def dunning_cases_open(*, today: dt.date) -> int:
    """Open a case for every overdue invoice that has none, with its account's policy."""
    now = timezone.now()
    overdue = (
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE, status=InvoiceStatus.OVERDUE, dunning__isnull=True
        )
        .select_related("billing_account")
        .order_by("pk")
    )
    cache: dict = {}
    cases = []
    for invoice in overdue.iterator(chunk_size=1000):
        policy = policy_for_account(invoice.billing_account, invoice.brand_id, cache)
        if ("steps", policy) not in cache:
            cache[("steps", policy)] = _steps_of(policy)
        step, date = _next_after(cache[("steps", policy)], set(), invoice.due_date)
        cases.append(
            DunningCase(
                invoice=invoice,
                brand_id=invoice.brand_id,
                billing_account_id=invoice.billing_account_id,
                policy=policy,
                next_step=step,
                next_step_date=date,
                opened_at=now,
            )  # fmt: skip
        )
    if not cases:
        return 0
    with transaction.atomic():
        # A concurrent run may have opened some: the one-to-one constraint keeps one case each.
        created = DunningCase.objects.bulk_create(cases, batch_size=1000, ignore_conflicts=True)
        opened = DunningCase.objects.filter(
            invoice_id__in=[case.invoice_id for case in created], opened_at=now
        )
        DunningCase.history.bulk_history_create(
            list(opened), default_change_reason="opened (R30)", default_date=now
        )
    return len(cases)


def account_is_paused(billing_account_id: int) -> bool:
    """Whether an account's dunning is paused."""
    return DunningHold.objects.filter(
        billing_account_id=billing_account_id, resumed_at__isnull=True
    ).exists()


def _invoiced_accounts(account: BillingAccount) -> list[int]:
    """The account and its children invoiced on its invoice: their lines are on it."""
    children = BillingAccount.objects.filter(parent=account, invoice_to_parent=True)
    return [account.pk, *children.values_list("pk", flat=True)]


def _subscriptions(case: DunningCase):
    return Subscription.objects.filter(
        billing_account_id__in=_invoiced_accounts(case.billing_account)
    ).order_by("pk")


def _bar(case: DunningCase, *, now, acting_user) -> list[str]:
    reason = f"{BAR_CHANGE_PREFIX} {case.invoice.number}"[:40]
    barred = []
    for subscription in _subscriptions(case).filter(status=SubscriptionStatus.ACTIVE):
        subscriber_services.subscription_bar(
            subscription=subscription, effective_at=now, reason=reason, acting_user=acting_user
        )
        barred.append(subscription.msisdn)
    return barred


def _terminate(case: DunningCase, *, now, acting_user) -> list[str]:
    reason = f"{BAR_CHANGE_PREFIX} termination {case.invoice.number}"[:40]
    ended = []
    live = _subscriptions(case).exclude(status=SubscriptionStatus.TERMINATED)
    for subscription in live:
        subscriber_services.subscription_terminate(
            subscription=subscription, effective_at=now, reason=reason, acting_user=acting_user
        )
        ended.append(subscription.msisdn)
    return ended


def _event(case: DunningCase, record: DunningRecord) -> None:
    invoice = case.invoice
    step = record.step
    publish(
        event_type=EVENT_STEP_TAKEN,
        payload={
            "case": case.pk,
            "bill": {"id": invoice.pk, "number": invoice.number},
            "billingAccount": {
                "id": case.billing_account_id,
                "number": case.billing_account.number,
            },
            "policy": case.policy.code if case.policy else "",
            "step": {
                "position": step.position,
                "action": step.action,
                "daysAfterDue": step.days_after_due,
            },
            "dueDate": invoice.due_date,
            "stepDueOn": record.due_on,
            "takenAt": record.taken_at,
            "amountDue": {"value": invoice.gross_total, "unit": invoice.currency},
            "subscriptions": record.subscriptions,
        },
        brand=case.brand,
        subject=invoice.number,
    )


def _take(case: DunningCase, step: DunningStep, *, today, now, acting_user) -> DunningRecord:
    due_on = case.invoice.due_date + dt.timedelta(days=step.days_after_due)
    numbers: list[str] = []
    detail = ""
    if step.action == DunningAction.BAR_OUTGOING:
        numbers = _bar(case, now=now, acting_user=acting_user)
        detail = f"{len(numbers)} subscription(s) barred" if numbers else "nothing left to bar"
    elif step.action == DunningAction.TERMINATE:
        numbers = _terminate(case, now=now, acting_user=acting_user)
        detail = f"{len(numbers)} subscription(s) terminated"
    else:
        detail = f"{step.get_action_display()} sent (dunning.step_taken)"
    if due_on < today:
        detail += f"; due on {due_on}, taken late"
    record = DunningRecord.objects.create(
        case=case, kind=DunningRecordKind.STEP, step=step, action=step.action, due_on=due_on,
        taken_at=now, subscriptions=numbers, detail=detail[:300], taken_by=_user(acting_user),
    )  # fmt: skip
    _event(case, record)
    return record


def dunning_case_advance(*, case: DunningCase, today: dt.date, acting_user=None) -> list:
    """Take the steps of one case whose day has come, each once (R30); return the records.

    One transaction, the case's row locked: a step is either taken with its subscriber action,
    record and event, or not at all. A paused account or a settled invoice takes no step.
    """
    now = timezone.now()
    with transaction.atomic():
        case = (
            DunningCase.objects.select_for_update(of=("self",))
            .select_related("invoice", "billing_account", "policy", "brand")
            .get(pk=case.pk)
        )
        if case.status != DunningCaseStatus.OPEN:
            return []
        if case.invoice.status != InvoiceStatus.OVERDUE:
            return []
        policy_found = False
        if case.policy is None:
            case.policy = policy_for_account(case.billing_account, case.brand_id)
            policy_found = case.policy is not None
        steps = _steps_of(case.policy)
        taken = set(
            DunningRecord.objects.filter(case=case, kind=DunningRecordKind.STEP).values_list(
                "step_id", flat=True
            )
        )
        records = []
        if not account_is_paused(case.billing_account_id):
            for step in steps:
                if step.pk in taken:
                    continue
                if case.invoice.due_date + dt.timedelta(days=step.days_after_due) > today:
                    break
                records.append(_take(case, step, today=today, now=now, acting_user=acting_user))
                taken.add(step.pk)
                case.last_step = step
                if step.action == DunningAction.TERMINATE:
                    break
        next_step, next_date = _next_after(steps, taken, case.invoice.due_date)
        changed = (case.next_step_id, case.next_step_date) != (
            getattr(next_step, "pk", None),
            next_date,
        )
        if records or changed or policy_found:
            case.next_step, case.next_step_date = next_step, next_date
            reason = ", ".join(r.get_action_display() for r in records) or "schedule"
            _audit(case, acting_user, reason).save()
    return records


def dunning_bar_lift(*, case: DunningCase, now=None, acting_user=None) -> DunningRecord | None:
    """Lift the barring the dunning imposed on a settled case's account (caller's transaction).

    Only subscriptions whose open term began with a dunning barring are reactivated (never an
    operator's barring or suspension), and none while another open case of the account has
    taken its barring step: that invoice still holds them barred.
    """
    now = now or timezone.now()
    still_barring = DunningRecord.objects.filter(
        case__billing_account_id=case.billing_account_id,
        case__status=DunningCaseStatus.OPEN,
        kind=DunningRecordKind.STEP,
        action=DunningAction.BAR_OUTGOING,
    ).exclude(case=case)
    if still_barring.exists():
        return None
    lifted = []
    for subscription in _subscriptions(case).filter(
        status=SubscriptionStatus.BARRED,
        terms__valid_to__isnull=True,
        terms__change__startswith=BAR_CHANGE_PREFIX,
    ):
        subscriber_services.subscription_reactivate(
            subscription=subscription,
            effective_at=now,
            reason=f"{BAR_CHANGE_PREFIX} lifted {case.invoice.number}"[:40],
            acting_user=acting_user,
        )
        lifted.append(subscription.msisdn)
    barred_here = DunningRecord.objects.filter(
        case=case, kind=DunningRecordKind.STEP, action=DunningAction.BAR_OUTGOING
    ).exists()
    if not lifted and not barred_here:
        return None
    try:
        with transaction.atomic():
            return DunningRecord.objects.create(
                case=case, kind=DunningRecordKind.BAR_LIFTED, due_on=timezone.localdate(now),
                taken_at=now, subscriptions=lifted, taken_by=_user(acting_user),
                detail=f"{len(lifted)} subscription(s) reactivated" if lifted
                else "nothing the dunning barred was still barred",
            )  # fmt: skip
    except IntegrityError:  # lifted once already
        return None


def _case_close(case_id: int, *, acting_user=None) -> bool:
    now = timezone.now()
    with transaction.atomic():
        case = (
            DunningCase.objects.select_for_update(of=("self",))
            .select_related("invoice", "billing_account")
            .get(pk=case_id)
        )
        if case.status != DunningCaseStatus.OPEN or case.invoice.status not in SETTLED_STATUSES:
            return False
        case.status = DunningCaseStatus.CLOSED
        case.closed_at = now
        case.closed_reason = f"invoice {case.invoice.get_status_display()}"
        case.next_step, case.next_step_date = None, None
        _audit(case, acting_user, case.closed_reason).save()
        dunning_bar_lift(case=case, now=now, acting_user=acting_user)
    return True


def dunning_invoices_settled(*, invoice_ids, acting_user=None) -> int:
    """Close the dunning of paid or void invoices and lift the barring it imposed (R30).

    Payments call this once invoices are PAID; an invoice not settled (or with no dunning) is
    left alone. Return how many cases were closed.
    """
    ids = list(
        DunningCase.objects.filter(
            invoice_id__in=list(invoice_ids),
            status=DunningCaseStatus.OPEN,
            invoice__status__in=SETTLED_STATUSES,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(1 for case_id in ids if _case_close(case_id, acting_user=acting_user))


def dunning_run(*, today: dt.date | None = None, acting_user=None) -> dict:
    """The daily dunning run (R30): close settled cases, mark overdue invoices, open their
    cases and take every step whose day has come. Running it twice a day changes nothing."""
    today = today or timezone.localdate()
    settled = DunningCase.objects.filter(
        status=DunningCaseStatus.OPEN, invoice__status__in=SETTLED_STATUSES
    ).values_list("invoice_id", flat=True)
    closed = dunning_invoices_settled(invoice_ids=list(settled), acting_user=acting_user)
    overdue = invoices_mark_overdue(today=today)
    opened = dunning_cases_open(today=today)
    due = (
        DunningCase.objects.filter(status=DunningCaseStatus.OPEN, invoice__status="overdue")
        .filter(Q(next_step_date__lte=today) | Q(policy__isnull=True))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    steps = failed = 0
    for case_id in list(due):
        try:
            records = dunning_case_advance(
                case=DunningCase(pk=case_id), today=today, acting_user=acting_user
            )
        except (ValidationError, IntegrityError) as error:
            # One account's refusal (say a subscription in a state the action cannot leave)
            # must not stop the others; the case stays where it was and is tried tomorrow.
            logger.warning("dunning case %s not advanced: %s", case_id, error)
            failed += 1
            continue
        steps += len(records)
    return {
        "date": today.isoformat(),
        "closed": closed,
        "overdue": overdue,
        "opened": opened,
        "steps": steps,
        "failed": failed,
    }


# --- pause and resume -------------------------------------------------------------------------


def dunning_pause(*, billing_account: BillingAccount, reason: str, acting_user=None):
    """Pause an account's dunning (a dispute, a promise to pay): no step is taken until it is
    resumed. The pause and its reason are audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "say why the dunning is paused"})
    require_subscriber_change(billing_account, acting_user)
    with transaction.atomic():
        account = (
            BillingAccount.objects.select_for_update()
            .select_related("customer")
            .get(pk=billing_account.pk)
        )
        if account_is_paused(account.pk):
            raise ValidationError({"billing_account": "the account's dunning is paused already"})
        hold = DunningHold(
            billing_account=account, brand_id=account.customer.brand_id, reason=reason,
            paused_at=timezone.now(), paused_by=_user(acting_user),
        )  # fmt: skip
        _audit(hold, acting_user, f"paused: {reason}"[:100]).save()
    return hold


def dunning_resume(*, hold: DunningHold, reason: str, acting_user=None) -> DunningHold:
    """Resume a paused account's dunning: the steps whose day has come are taken at the next
    run."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "say why the dunning resumes"})
    require_subscriber_change(hold.billing_account, acting_user)
    with transaction.atomic():
        hold = DunningHold.objects.select_for_update().get(pk=hold.pk)
        if hold.resumed_at is not None:
            raise ValidationError({"status": "the dunning was resumed already"})
        hold.resumed_at = timezone.now()
        hold.resumed_by = _user(acting_user)
        hold.resume_reason = reason
        _audit(hold, acting_user, f"resumed: {reason}"[:100]).save()
    return hold
