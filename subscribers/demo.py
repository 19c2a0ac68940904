"""Demo subscribers: customers A, B and C of the golden October scenario, and a few hundred
generated customers around them (``python manage.py load_demo``, after the catalogue's demo).

A, B and C go through the services exactly as the scenario's tests build them. The generated
part is the same on every machine (a fixed random seed), is checked as the services check it and
written in bulk with its audit trail; its top-ups and vouchers go through the services. Loading
twice creates nothing new: each part is skipped when its SIM batch exists.
"""

import datetime as dt
import random
from collections import Counter
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Subquery
from simple_history.utils import bulk_create_with_history
from stdnum import luhn
from stdnum.at import uid as at_uid
from stdnum.eu import vat
from stdnum.iso7064 import mod_11_10

from catalog.models import Brand, HostNetwork, PaymentModel, Plan, Status, TaxRegion
from catalog.selectors import IN_FORCE
from core.periods import local_midnight
from subscribers import services
from subscribers.models import (
    BillingAccount,
    Customer,
    CustomerKind,
    Sim,
    SimBatch,
    SimStatus,
    Subscription,
    SubscriptionStatus,
    SubscriptionTerm,
    TopUp,
    Voucher,
)

BERLIN = "Europe/Berlin"
BRAND_CODE, PLAN_CODE, TAX_REGION_CODE, HOST_NETWORK_CODE = "LOREM", "SMART-10", "DE", "HOSTNET"

GOLDEN_SUBSCRIBERS = [
    # key, first name, last name, MSISDN, IMSI, ordered, active from, terminated on
    ("A", "Anna", "Schmidt", "4915112340001", "262031234500001",
     dt.date(2026, 9, 20), dt.date(2026, 10, 1), None),
    ("B", "Ben", "Müller", "4915112340002", "262031234500002",
     dt.date(2026, 10, 10), dt.date(2026, 10, 15), None),
    ("C", "Carla", "Weber", "4915112340003", "262031234500003",
     dt.date(2026, 9, 20), dt.date(2026, 10, 1), dt.date(2026, 10, 20)),
]  # fmt: skip
GOLDEN_SIM_BATCH = "GOLDEN-SIMS"

DEMO_SEED = 20261001
DEMO_SIM_BATCH = "DEMO-SIMS-2026-10"
DEMO_VOUCHER_BATCH = "DEMO-VOUCHERS-2026-10"
DEMO_PERSONS = 300
DEMO_BUSINESSES = 24
DEMO_DEPARTMENTS = ("Sales", "Logistics", "Service")
DEMO_SPARE_SIMS = 60
DEMO_VOUCHERS = 100
DEMO_MONTH_START = dt.date(2026, 10, 1)
DEMO_MSISDN_PREFIX = "4915220"  # + 6 digits: a block of numbers the demo owns
DEMO_IMSI_PREFIX = "2620355"  # + 8 digits

FIRST_NAMES = [
    "Anton",
    "Berta",
    "Clara",
    "David",
    "Emil",
    "Frieda",
    "Greta",
    "Hannes",
    "Ida",
    "Jonas",
    "Karla",
    "Lukas",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Samuel",
    "Thea",
    "Ulrich",
    "Vera",
    "Werner",
    "Yara",
    "Zoe",
    "Lea",
    "Felix",
    "Marie",
    "Elias",
    "Lina",
    "Max",
]
LAST_NAMES = [
    "Becker",
    "Fischer",
    "Hoffmann",
    "Koch",
    "Krüger",
    "Lange",
    "Meyer",
    "Neumann",
    "Richter",
    "Schäfer",
    "Schneider",
    "Schulz",
    "Schwarz",
    "Wagner",
    "Weiß",
    "Wolf",
    "Zimmermann",
    "Braun",
    "Hartmann",
    "Keller",
    "Lehmann",
    "Vogel",
    "Roth",
]
CITIES = (
    ("10115", "Berlin"), ("20095", "Hamburg"), ("50667", "Köln"), ("80331", "München"),
    ("60311", "Frankfurt am Main"), ("70173", "Stuttgart"), ("04109", "Leipzig"),
)  # fmt: skip
STREETS = ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Schulstraße")
COMPANY_WORDS = ("Nord", "Süd", "Alpen", "Rhein", "Elb", "Havel", "Main", "Spree", "Isar")
COMPANY_TRADES = ("Logistik", "Bau", "Software", "Handel", "Pflege", "Energie", "Druck")
COMPANY_FORMS = ("GmbH", "AG", "KG", "GmbH & Co. KG")


def _ascii(text: str) -> str:
    return text.translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))


def iccid_for(imsi: str) -> str:
    """Return a valid ICCID (Luhn check digit) derived from an IMSI, for demo and test SIMs."""
    body = f"894903{imsi[-12:]}"
    return body + luhn.calc_check_digit(body)


def german_vat_number(rng: random.Random) -> str:
    """Return a valid German VAT number (ISO 7064 MOD 11,10 check digit)."""
    body = str(rng.randint(10_000_000, 99_999_999))
    return f"DE{body}{mod_11_10.calc_check_digit(body)}"


def austrian_vat_number(rng: random.Random) -> str:
    """Return a valid Austrian VAT number (UID, Luhn-based check digit)."""
    body = f"U{rng.randint(1_000_000, 9_999_999)}"
    return f"AT{body}{at_uid.calc_check_digit(body)}"


def date_by_first_order(*, customers) -> None:
    """Date demo customers, accounts and subscriptions by their first order, not by the load day.

    A customer "since" the day the demo was loaded, with usage from months before, reads oddly:
    each subscription is dated by its first term, each account and customer by their first
    subscription (created_at is set on insert, so this is an update after the fact).
    """
    first_term = (
        SubscriptionTerm.objects.filter(subscription=OuterRef("pk"))
        .order_by("valid_from")
        .values("valid_from")[:1]
    )
    subscriptions = Subscription.objects.filter(billing_account__customer__in=customers)
    subscriptions.update(created_at=Subquery(first_term))
    first_subscription = (
        Subscription.objects.filter(billing_account=OuterRef("pk"))
        .order_by("created_at")
        .values("created_at")[:1]
    )
    BillingAccount.objects.filter(
        Exists(Subscription.objects.filter(billing_account=OuterRef("pk"))),
        customer__in=customers,
    ).update(created_at=Subquery(first_subscription))
    first_account = (
        BillingAccount.objects.filter(customer=OuterRef("pk"), subscriptions__isnull=False)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    Customer.objects.filter(
        Exists(Subscription.objects.filter(billing_account__customer=OuterRef("pk"))),
        pk__in=[customer.pk for customer in customers],
    ).update(created_at=Subquery(first_account))


def golden_subscribers_create(
    *, brand, plan, tax_region, host_network, acting_user=None
) -> tuple[dict, dict, dict]:
    """Create customers A, B, C with one postpaid account and one SMART-10 subscription each.

    Return (customers, accounts, subscriptions), each keyed by "A", "B", "C".
    """
    sims_csv = "iccid,imsi\n" + "".join(
        f"{iccid_for(row[4])},{row[4]}\n" for row in GOLDEN_SUBSCRIBERS
    )
    batch = services.sim_batch_load(
        reference=GOLDEN_SIM_BATCH,
        host_network=host_network,
        csv_text=sims_csv,
        acting_user=acting_user,
    )
    sims = {sim.imsi: sim for sim in batch.sims.all()}
    customers, accounts, subscriptions = {}, {}, {}
    for key, first, last, msisdn, imsi, ordered, active_from, terminated in GOLDEN_SUBSCRIBERS:
        customer = services.customer_save(
            data={"brand": brand, "kind": "person", "first_name": first, "last_name": last,
                  "country": "DE", "language": "de"},
            acting_user=acting_user,
        )  # fmt: skip
        account = services.billing_account_save(
            customer=customer,
            data={"name": f"{first} {last}", "currency": "EUR", "timezone": BERLIN,
                  "bill_cycle_day": 1, "payment_terms_days": 14, "tax_region": tax_region,
                  "payment_model": "postpaid"},
            acting_user=acting_user,
        )  # fmt: skip
        subscription = services.subscription_create(
            billing_account=account,
            plan=plan,
            msisdn=msisdn,
            sim=sims[imsi],
            created_at=local_midnight(ordered, BERLIN),
            acting_user=acting_user,
        )
        subscription = services.subscription_activate(
            subscription=subscription,
            effective_at=local_midnight(active_from, BERLIN),
            acting_user=acting_user,
        )
        if terminated:
            subscription = services.subscription_terminate(
                subscription=subscription,
                effective_at=local_midnight(terminated, BERLIN),
                acting_user=acting_user,
            )
        customers[key], accounts[key], subscriptions[key] = customer, account, subscription
    date_by_first_order(customers=list(customers.values()))
    return customers, accounts, subscriptions


class _Plans:
    """The plans on sale, by payment model and tax mode, with their first instant in force."""

    def __init__(self) -> None:
        self.first_in_force: dict[int, dt.datetime] = {}
        self.by_model: dict[str, list[Plan]] = {}
        self.tax_inclusive: dict[int, bool] = {}
        plans = Plan.objects.filter(currency="EUR").prefetch_related("versions").order_by("code")
        for plan in plans:
            versions = sorted(
                (v for v in plan.versions.all() if v.status in IN_FORCE),
                key=lambda v: v.effective_from,
            )
            if not versions or versions[-1].status != Status.PUBLISHED:
                continue
            self.first_in_force[plan.pk] = versions[0].effective_from
            self.tax_inclusive[plan.pk] = versions[-1].tax_inclusive
            self.by_model.setdefault(plan.payment_model, []).append(plan)

    def pick(self, rng: random.Random, model: str, like: Plan | None = None) -> Plan:
        """Pick a plan of a payment model, of the same tax mode as ``like`` (R4)."""
        plans = self.by_model[model]
        if like is not None:
            plans = [p for p in plans if self.tax_inclusive[p.pk] == self.tax_inclusive[like.pk]]
        return rng.choice(plans)

    def activation_day(self, rng: random.Random, plan: Plan) -> dt.date:
        """Return a day of October 2026 (or later) from whose 00:00 the plan is in force."""
        day = DEMO_MONTH_START + dt.timedelta(days=rng.randrange(31))
        while local_midnight(day, BERLIN) < self.first_in_force[plan.pk]:
            day += dt.timedelta(days=1)
        return day


class _Generator:
    """Draw the generated customers from one seeded generator, then write them in bulk.

    Writing a few hundred customers one service call at a time takes half a minute, so the
    crowd is built in memory the way the services would build it (same checks of numbers and
    VAT ids, same terms for each lifecycle step, R4 respected per account) and written with
    ``bulk_create``, with its audit trail. Money still goes through the services.
    """

    def __init__(self, *, tax_region, host_network, acting_user) -> None:
        self.rng = random.Random(DEMO_SEED)
        self.plans = _Plans()
        self.tax_region = tax_region
        self.acting_user = acting_user
        self.host_network = host_network
        self.sims: list[Sim] = []
        self.counts: Counter = Counter()
        self.customers: list[Customer] = []
        self.accounts: list[BillingAccount] = []
        self.orders: list[tuple] = []
        self._customer_number = int(services._next_number(Customer, "C")[1:])
        self._account_number = int(services._next_number(BillingAccount, "A")[1:])

    def load_sims(self, needed: int) -> None:
        imsis = [f"{DEMO_IMSI_PREFIX}{n:08d}" for n in range(1, needed + DEMO_SPARE_SIMS + 1)]
        csv_text = "iccid,imsi\n" + "".join(f"{iccid_for(imsi)},{imsi}\n" for imsi in imsis)
        batch = services.sim_batch_load(
            reference=DEMO_SIM_BATCH,
            host_network=self.host_network,
            csv_text=csv_text,
            acting_user=self.acting_user,
        )
        self.sims = list(batch.sims.order_by("imsi"))

    def _address(self) -> dict:
        postal_code, city = self.rng.choice(CITIES)
        street = f"{self.rng.choice(STREETS)} {self.rng.randint(1, 120)}"
        return {"street": street, "postal_code": postal_code, "city": city, "country": "DE"}

    def _model(self) -> str:
        weights = {PaymentModel.POSTPAID: 6, PaymentModel.PREPAID: 3, PaymentModel.HYBRID: 1}
        models = [m for m in weights if self.plans.by_model.get(m)]
        return self.rng.choices(models, weights=[weights[m] for m in models])[0]

    def customer(self, **fields) -> Customer:
        customer = Customer(number=f"C{self._customer_number:07d}", **fields)
        self._customer_number += 1
        self.customers.append(customer)
        return customer

    def account(self, customer: Customer, *, model: str, name: str, **extra) -> BillingAccount:
        account = BillingAccount(
            customer=customer,
            number=f"A{self._account_number:07d}",
            name=name,
            currency="EUR",
            timezone=BERLIN,
            bill_cycle_day=1,
            payment_terms_days=14,
            tax_region=self.tax_region,
            payment_model=model,
            credit_limit=Decimal("20.00") if model == PaymentModel.HYBRID else Decimal("0"),
            **extra,
        )
        self._account_number += 1
        self.accounts.append(account)
        self.counts[f"{model} accounts"] += 1
        return account

    def subscription(self, account: BillingAccount, plan: Plan) -> None:
        """Order one subscription; most are activated, a few stay pending, are suspended or end."""
        sequence = len(self.orders) + 1
        msisdn = services.normalise_msisdn(f"{DEMO_MSISDN_PREFIX}{sequence:06d}")
        active_day = self.plans.activation_day(self.rng, plan)
        active_from = local_midnight(active_day, BERLIN)
        ordered = local_midnight(active_day - dt.timedelta(days=self.rng.randint(1, 6)), BERLIN)
        fate = self.rng.random()
        later = local_midnight(active_day + dt.timedelta(days=self.rng.randint(3, 20)), BERLIN)
        if fate < 0.04:
            steps = [(ordered, SubscriptionStatus.PENDING, "create")]
        else:
            steps = [
                (ordered, SubscriptionStatus.PENDING, "create"),
                (active_from, SubscriptionStatus.ACTIVE, "activate"),
            ]
            if fate < 0.10:
                steps.append((later, SubscriptionStatus.TERMINATED, "terminate"))
            elif fate < 0.14:
                steps.append((later, SubscriptionStatus.SUSPENDED, "customer request"))
        self.orders.append((account, plan, msisdn, sequence - 1, steps))
        self.counts[steps[-1][1]] += 1

    def person(self) -> None:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        model = self._model()
        plan = self.plans.pick(self.rng, model)
        customer = self.customer(
            brand=plan.brand,
            kind=CustomerKind.PERSON,
            first_name=first,
            last_name=last,
            email=_ascii(f"{first}.{last}.{len(self.customers) + 1}@example.org".lower()),
            language=self.rng.choice(("de", "de", "de", "en")),
            **self._address(),
        )
        account = self.account(customer, model=model, name=f"{first} {last}")
        self.subscription(account, plan)
        if self.rng.random() < 0.15:
            self.subscription(account, self.plans.pick(self.rng, model, like=plan))

    def business(self, index: int, *, departments: tuple[str, ...] = ()) -> None:
        name = (
            f"{self.rng.choice(COMPANY_WORDS)}{self.rng.choice(COMPANY_TRADES).lower()} "
            f"{self.rng.choice(COMPANY_FORMS)}"
        )
        austrian = index % 5 == 4
        tax_id = austrian_vat_number(self.rng) if austrian else german_vat_number(self.rng)
        if not vat.is_valid(tax_id):
            raise ValueError(f"generated an invalid VAT number {tax_id}")
        plan = self.plans.pick(self.rng, PaymentModel.POSTPAID)
        address = self._address()
        if austrian:
            address.update(postal_code="1010", city="Wien", country="AT")
        customer = self.customer(
            brand=plan.brand,
            kind=CustomerKind.BUSINESS,
            company_name=name,
            tax_id=vat.compact(tax_id),
            email=f"billing{index}@example.com",
            language="de",
            **address,
        )
        self.counts["businesses"] += 1
        parent = self.account(customer, model=PaymentModel.POSTPAID, name=name)
        if not departments:
            for _ in range(self.rng.randint(1, 4)):
                self.subscription(parent, self.plans.pick(self.rng, "postpaid", like=plan))
            return
        for department in departments:
            child = self.account(
                customer,
                model=PaymentModel.POSTPAID,
                name=f"{name} — {department}",
                parent=parent,
                invoice_to_parent=True,
            )
            self.counts["departments"] += 1
            for _ in range(self.rng.randint(3, 6)):
                self.subscription(child, self.plans.pick(self.rng, "postpaid", like=plan))

    def write(self) -> None:
        """Write customers, accounts (parents first), subscriptions and their terms in bulk."""
        history = {"default_user": self.acting_user, "default_change_reason": "demo data"}
        bulk_create_with_history(self.customers, Customer, **history)
        for account in self.accounts:
            account.customer_id = account.customer.pk
        parents = [a for a in self.accounts if a.parent is None]
        children = [a for a in self.accounts if a.parent is not None]
        bulk_create_with_history(parents, BillingAccount, **history)
        for account in children:
            account.parent_id = account.parent.pk
        bulk_create_with_history(children, BillingAccount, **history)
        subscriptions = []
        for account, plan, msisdn, sim_index, steps in self.orders:
            status = steps[-1][1]
            subscriptions.append(
                Subscription(
                    billing_account_id=account.pk,
                    plan=plan,
                    msisdn=msisdn,
                    sim=self.sims[sim_index],
                    status=status,
                    activated_at=steps[1][0] if len(steps) > 1 else None,
                    terminated_at=steps[-1][0] if status == SubscriptionStatus.TERMINATED else None,
                )
            )
        bulk_create_with_history(subscriptions, Subscription, **history)
        terms = []
        for subscription, (_, plan, msisdn, _, steps) in zip(
            subscriptions, self.orders, strict=True
        ):
            for index, (valid_from, status, change) in enumerate(steps):
                valid_to = steps[index + 1][0] if index + 1 < len(steps) else None
                terms.append(
                    SubscriptionTerm(
                        subscription_id=subscription.pk,
                        valid_from=valid_from,
                        valid_to=valid_to,
                        msisdn=msisdn,
                        imsi=subscription.sim.imsi,
                        sim=subscription.sim,
                        plan=plan,
                        status=status,
                        change=change,
                    )
                )
        SubscriptionTerm.objects.bulk_create(terms, batch_size=500)
        retired = [s.sim_id for s in subscriptions if s.status == SubscriptionStatus.TERMINATED]
        Sim.objects.filter(pk__in=[s.sim_id for s in subscriptions]).update(
            status=SimStatus.ASSIGNED
        )
        Sim.objects.filter(pk__in=retired).update(status=SimStatus.RETIRED)
        date_by_first_order(customers=self.customers)

    def top_ups(self) -> None:
        """Top up every prepaid and hybrid account once, through the service."""
        balance_accounts = [a for a in self.accounts if a.payment_model != PaymentModel.POSTPAID]
        for index, account in enumerate(balance_accounts, start=1):
            services.top_up(
                billing_account=account,
                amount=self.rng.choice((Decimal("10.00"), Decimal("15.00"), Decimal("25.00"))),
                channel=self.rng.choice(("card", "partner")),
                reference=f"DEMO-TOPUP-{index:05d}",
                acting_user=self.acting_user,
            )
            self.counts["top-ups"] += 1

    def vouchers(self, brand) -> None:
        """Create a voucher batch and redeem a few of its codes onto prepaid balances."""
        _, codes = services.voucher_batch_create(
            reference=DEMO_VOUCHER_BATCH,
            brand=brand,
            value=Decimal("15.00"),
            currency="EUR",
            count=DEMO_VOUCHERS,
            acting_user=self.acting_user,
        )
        holders = [
            a
            for a in self.accounts
            if a.payment_model != PaymentModel.POSTPAID and a.customer.brand_id == brand.pk
        ]
        for (_, code), account in zip(codes, holders[:10], strict=False):
            services.voucher_redeem(
                code=code, billing_account=account, acting_user=self.acting_user
            )
            self.counts["vouchers redeemed"] += 1


def _generate(*, brand, tax_region, host_network, acting_user) -> Counter:
    generator = _Generator(
        tax_region=tax_region, host_network=host_network, acting_user=acting_user
    )
    if not generator.plans.by_model.get(PaymentModel.POSTPAID):
        raise LookupError("the demo needs a published postpaid plan in EUR")
    for _ in range(DEMO_PERSONS):
        generator.person()
    for index in range(DEMO_BUSINESSES):
        generator.business(index)
    generator.business(DEMO_BUSINESSES, departments=DEMO_DEPARTMENTS)
    generator.load_sims(len(generator.orders))
    generator.write()
    generator.top_ups()
    generator.vouchers(brand)
    return generator.counts


# Two prepaid lines that show prepaid life (subscribers.prepaid): one renewed from its balance
# and topped up again, one suspended because its balance was short of the plan's fee.
PREPAID_RENEWED = "Prepaid, renewed"
PREPAID_SHORT = "Prepaid, balance short"
PREPAID_MSISDNS = {PREPAID_RENEWED: "4915790000001", PREPAID_SHORT: "4915790000002"}


def prepaid_showcase(*, tax_region, acting_user, now: dt.datetime | None = None) -> list[str]:
    """Create the two prepaid showcase lines, renew them now (R24, R29), top up the renewed one.

    A second run finds them and changes nothing (renewals are once per period).
    """
    from django.utils import timezone

    from subscribers.prepaid import subscription_renew

    now = now or timezone.now()
    plan = (
        Plan.objects.filter(
            brand__code=BRAND_CODE,
            payment_model=PaymentModel.PREPAID,
            versions__status=Status.PUBLISHED,
            versions__recurring_fee__gt=0,
        )
        .order_by("code")
        .first()
    )
    if plan is None or BillingAccount.objects.filter(name=PREPAID_RENEWED).exists():
        return []
    done = []
    for name, first_top_up in ((PREPAID_RENEWED, "30.00"), (PREPAID_SHORT, "1.00")):
        first, _, last = name.partition(", ")
        customer = services.customer_save(
            data={"brand": plan.brand, "kind": "person", "first_name": "Demo",
                  "last_name": f"{first} ({last})", "street": "Torstraße 1",
                  "postal_code": "10119", "city": "Berlin", "country": "DE"},
            acting_user=acting_user,
        )  # fmt: skip
        account = services.billing_account_save(
            customer=customer,
            data={"name": name, "currency": "EUR", "timezone": BERLIN, "bill_cycle_day": 1,
                  "tax_region": tax_region, "payment_model": PaymentModel.PREPAID},
            acting_user=acting_user,
        )  # fmt: skip
        start = local_midnight(DEMO_MONTH_START, BERLIN)
        subscription = services.subscription_create(
            billing_account=account, plan=plan, msisdn=PREPAID_MSISDNS[name],
            created_at=start - dt.timedelta(days=2), acting_user=acting_user,
        )  # fmt: skip
        subscription = services.subscription_activate(
            subscription=subscription, effective_at=start, acting_user=acting_user
        )
        services.top_up(
            billing_account=account, amount=Decimal(first_top_up), channel="card",
            reference=f"DEMO-PREPAID-{subscription.msisdn}-1", acting_user=acting_user,
        )  # fmt: skip
        outcome = subscription_renew(subscription_id=subscription.pk, now=now)
        if name == PREPAID_RENEWED:
            services.top_up(
                billing_account=account, amount=Decimal("15.00"), channel="partner",
                reference=f"DEMO-PREPAID-{subscription.msisdn}-2", acting_user=acting_user,
            )  # fmt: skip
        done.append(f"{name}: {outcome}")
    return done


def load() -> str:
    """Load the demo subscribers on the demo catalogue; a second run creates nothing."""
    brand = Brand.objects.filter(code=BRAND_CODE).first()
    if brand is None:
        return f"skipped: no catalogue (brand {BRAND_CODE} is missing)"
    plan = Plan.objects.get(code=PLAN_CODE)
    tax_region = TaxRegion.objects.get(code=TAX_REGION_CODE)
    host_network = HostNetwork.objects.get(code=HOST_NETWORK_CODE)
    acting_user = get_user_model().objects.filter(username="admin").first()
    loaded = []
    if not SimBatch.objects.filter(reference=GOLDEN_SIM_BATCH).exists():
        golden_subscribers_create(
            brand=brand,
            plan=plan,
            tax_region=tax_region,
            host_network=host_network,
            acting_user=acting_user,
        )
        loaded.append("customers A, B, C")
    if not SimBatch.objects.filter(reference=DEMO_SIM_BATCH).exists():
        counts = _generate(
            brand=brand, tax_region=tax_region, host_network=host_network, acting_user=acting_user
        )
        loaded.append(", ".join(f"{count} {what}" for what, count in sorted(counts.items())))
    loaded.extend(prepaid_showcase(tax_region=tax_region, acting_user=acting_user))
    totals = (
        f"{Customer.objects.count()} customers, {BillingAccount.objects.count()} accounts, "
        f"{Subscription.objects.count()} subscriptions, "
        f"{Sim.objects.filter(status=SimStatus.AVAILABLE).count()} SIMs in stock, "
        f"{TopUp.objects.count()} top-ups, {Voucher.objects.count()} vouchers"
    )
    return f"loaded {'; '.join(loaded)} ({totals})" if loaded else f"already loaded ({totals})"
