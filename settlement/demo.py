"""Demo data of the settlement: HOSTNET as a partner with its wholesale agreement, a content
provider sharing SMART-10's invoiced revenue, October 2026 settled (HOSTNET's statement
issued with its PDF: usage 5.314176 + 3 SIM fees 0.90 = EUR 6.21), and HOSTNET's own invoice
(``samples/HOSTNET_invoice_2026-10.csv``) reconciled: it disagrees on data in EU, so the demo
shows one open dispute item with its event. Loading it again changes nothing."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model

from catalog.models import Brand, HostNetwork
from settlement import services
from settlement.documents import statement_document_render
from settlement.models import (
    Agreement,
    Partner,
    Reconciliation,
    SettlementRun,
    Statement,
    StatementStatus,
)

BRAND_CODE = "LOREM"
PERIOD = (2026, 10)
SAMPLES = Path(__file__).resolve().parent / "samples"
PARTNER_INVOICE = "HOSTNET_invoice_2026-10.csv"


def _partners(brand: Brand, network: HostNetwork, user) -> tuple[Partner, Partner]:
    host = Partner.objects.filter(code="HOSTNET").first() or services.partner_save(
        brand=brand, code="HOSTNET", name="Host Network GmbH", kind="host_network",
        currency="EUR", host_network=network, contact_name="Wholesale desk",
        contact_email="wholesale@hostnet.example", address="Netzweg 1\n40213 Düsseldorf\nDE",
        vat_id="DE987654321", payment_terms_days=30, acting_user=user,
    )  # fmt: skip
    content = Partner.objects.filter(code="ACME-CONTENT").first() or services.partner_save(
        brand=brand, code="ACME-CONTENT", name="Acme Premium Content Ltd", kind="content",
        currency="EUR", contact_email="partners@acme-content.example", payment_terms_days=45,
        acting_user=user,
    )  # fmt: skip
    if not Agreement.objects.filter(code="HOSTNET-WHOLESALE-2026").exists():
        services.agreement_save(
            partner=host, code="HOSTNET-WHOLESALE-2026", name="HOSTNET wholesale 2026",
            kind="wholesale", effective_from=dt.date(2026, 1, 1),
            tolerance_amount=Decimal("0.01"), tolerance_percent=Decimal("0.5"), acting_user=user,
        )  # fmt: skip
    if not Agreement.objects.filter(code="ACME-SHARE-2026").exists():
        services.agreement_save(
            partner=content, code="ACME-SHARE-2026", name="Premium calls revenue share",
            kind="revenue_share", effective_from=dt.date(2026, 1, 1), plan_codes=["SMART-10"],
            services=["VOICE_OUT"], basis="revenue",
            tiers=[{"from": "0", "percent": "30"}, {"from": "5", "percent": "40"}],
            cap=Decimal("1000"), acting_user=user,
        )  # fmt: skip
    return host, content


def load() -> str:
    brand = Brand.objects.filter(code=BRAND_CODE).first()
    network = HostNetwork.objects.filter(code="HOSTNET").first()
    if brand is None or network is None:
        return f"skipped: no brand {BRAND_CODE} or host network HOSTNET"
    user = get_user_model().objects.filter(username="finance").first()
    host, content = _partners(brand, network, user)
    done = []
    for partner in (host, content):
        run = SettlementRun.objects.filter(
            partner=partner, period_year=PERIOD[0], period_month=PERIOD[1]
        ).first()
        statement = getattr(run, "statement", None) if run else None
        if statement is None or statement.status == StatementStatus.DRAFT:
            run = services.settlement_run_create(
                partner=partner, year=PERIOD[0], month=PERIOD[1], acting_user=user, run_now=True
            )
            statement = Statement.objects.get(run=run)
        if partner == host and statement.status == StatementStatus.DRAFT:
            statement = services.statement_issue(statement=statement, acting_user=user)
        if statement.status != StatementStatus.DRAFT:
            statement_document_render(statement=statement)
        done.append(f"{partner.code} {statement.currency} {statement.total} ({statement.status})")
    if not Reconciliation.objects.filter(partner=host, file_name=PARTNER_INVOICE).exists():
        services.reconciliation_import(
            partner=host, content=(SAMPLES / PARTNER_INVOICE).read_bytes(),
            file_name=PARTNER_INVOICE, acting_user=user,
        )  # fmt: skip
    reconciliation = Reconciliation.objects.get(partner=host, file_name=PARTNER_INVOICE)
    disputes = reconciliation.disputes.count()
    return f"October 2026 settled: {', '.join(done)}; HOSTNET invoice: {disputes} dispute item(s)"
