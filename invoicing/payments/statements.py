"""Bank statement files read into lines: ISO 20022 CAMT.053 (XML, any camt.053.001.xx
version) and SWIFT MT940 (with the ``mt940`` library, structured ``:86:`` fields included).

A parser returns a ``ParsedStatement`` or raises ``StatementError`` saying what is wrong; it
never guesses an amount.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree


class StatementError(ValueError):
    """The file is not a statement this importer reads; the message says why."""


@dataclass
class ParsedLine:
    booking_date: dt.date
    value_date: dt.date
    amount: Decimal  # positive: credit, negative: debit
    currency: str
    counterparty_name: str = ""
    counterparty_iban: str = ""
    remittance: str = ""
    end_to_end_id: str = ""
    bank_reference: str = ""
    return_reason: str = ""


@dataclass
class ParsedStatement:
    format: str
    statement_id: str
    account_iban: str
    currency: str
    lines: list[ParsedLine] = field(default_factory=list)


def statement_parse(content: bytes) -> ParsedStatement:
    """Read a statement file, CAMT.053 or MT940, by its content."""
    head = content.lstrip()[:200]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith(b"<"):
        return camt053_parse(content)
    if b":20:" in content[:400] or head.startswith(b"{1:"):
        return mt940_parse(content)
    raise StatementError("neither a CAMT.053 XML nor an MT940 file")


# --- CAMT.053 ---------------------------------------------------------------------------------


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _find(element, path: str):
    """Find a descendant by a path of local names (namespaces of any camt version)."""
    current = [element]
    for name in path.split("/"):
        found = []
        for node in current:
            found.extend(child for child in node if _local(child.tag) == name)
        if not found:
            return None
        current = found
    return current[0]


def _findall(element, name: str):
    return [child for child in element if _local(child.tag) == name]


def _text(element, path: str) -> str:
    node = _find(element, path) if element is not None else None
    return (node.text or "").strip() if node is not None else ""


def _date(element, path: str) -> dt.date | None:
    value = _text(element, f"{path}/Dt") or _text(element, f"{path}/DtTm")[:10]
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError as error:
        raise StatementError(f"{path}: {value!r} is not a date") from error


def _decimal(value: str, where: str) -> Decimal:
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as error:
        raise StatementError(f"{where}: {value!r} is not an amount") from error
    if not amount.is_finite():
        raise StatementError(f"{where}: {value!r} is not an amount")
    return amount


def camt053_parse(content: bytes) -> ParsedStatement:
    """Read an ISO 20022 camt.053 bank-to-customer statement (its first statement)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as error:
        raise StatementError(f"not well-formed XML: {error}") from error
    if "camt.053" not in (etree.QName(root).namespace or ""):
        raise StatementError("the XML is not a camt.053 statement (its namespace)")
    statement = _find(root, "BkToCstmrStmt/Stmt")
    if statement is None:
        raise StatementError("no BkToCstmrStmt/Stmt in the file")
    iban = _text(statement, "Acct/Id/IBAN")
    currency = _text(statement, "Acct/Ccy")
    parsed = ParsedStatement(
        format="camt053",
        statement_id=_text(statement, "Id") or _text(statement, "ElctrncSeqNb"),
        account_iban=iban,
        currency=currency,
    )
    for number, entry in enumerate(_findall(statement, "Ntry"), start=1):
        where = f"entry {number}"
        amount_node = _find(entry, "Amt")
        if amount_node is None:
            raise StatementError(f"{where}: no amount")
        amount = _decimal((amount_node.text or "").strip(), where)
        entry_currency = amount_node.get("Ccy") or currency
        sign = _text(entry, "CdtDbtInd")
        if sign not in ("CRDT", "DBIT"):
            raise StatementError(f"{where}: CdtDbtInd is {sign!r}, not CRDT or DBIT")
        if _text(entry, "Sts") in ("PDNG", "INFO") or _text(entry, "Sts/Cd") in ("PDNG", "INFO"):
            continue  # not booked
        booking = _date(entry, "BookgDt")
        value = _date(entry, "ValDt") or booking
        if booking is None:
            raise StatementError(f"{where}: no booking date")
        holder = _find(entry, "NtryDtls")
        details = _findall(entry if holder is None else holder, "TxDtls") or [None]
        for detail in details:
            part = amount
            if detail is not None and len(details) > 1:
                detail_amount = _find(detail, "Amt") or _find(detail, "AmtDtls/TxAmt/Amt")
                if detail_amount is None:
                    raise StatementError(f"{where}: a batch entry's detail has no amount")
                part = _decimal((detail_amount.text or "").strip(), where)
            # The other party: the debtor of a credit; of a debit its creditor, or for a
            # returned direct debit the original debtor.
            parties = ("Dbtr",) if sign == "CRDT" else ("Cdtr", "Dbtr")
            party = next(
                (p for p in parties if _find(detail, f"RltdPties/{p}") is not None)
                if detail is not None
                else iter(()),
                parties[0],
            )
            remittance = " ".join(
                (node.text or "").strip()
                for node in (detail.iter() if detail is not None else [])
                if _local(node.tag) in ("Ustrd", "Ref") and node.text
            )
            parsed.lines.append(
                ParsedLine(
                    booking_date=booking,
                    value_date=value,
                    amount=part if sign == "CRDT" else -part,
                    currency=entry_currency,
                    counterparty_name=_text(detail, f"RltdPties/{party}/Nm")
                    or _text(detail, f"RltdPties/{party}/Pty/Nm"),
                    counterparty_iban=_text(detail, f"RltdPties/{party}Acct/Id/IBAN"),
                    remittance=remittance or _text(entry, "AddtlNtryInf"),
                    end_to_end_id=_clean_ref(_text(detail, "Refs/EndToEndId")),
                    bank_reference=_text(entry, "AcctSvcrRef") or _text(detail, "Refs/AcctSvcrRef"),
                    return_reason=_text(detail, "RtrInf/Rsn/Cd"),
                )
            )
    return parsed


def _clean_ref(value: str) -> str:
    return "" if value.upper() in ("NOTPROVIDED", "NONREF") else value


# --- MT940 ------------------------------------------------------------------------------------

IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b")
# A SEPA return's ISO reason code as German banks write it in the purpose of a debit.
RETURN_CODE_RE = re.compile(r"\b(AC01|AC04|AC06|AM04|MD01|MD06|MS02|MS03|SL01)\b")


def mt940_parse(content: bytes) -> ParsedStatement:
    """Read a SWIFT MT940 statement (German ``:86:`` sub-fields are understood)."""
    import mt940

    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    try:
        transactions = mt940.parse(text, options=mt940.Options(applicant_iban=True))
    except Exception as error:  # the library raises bare errors on broken tags
        raise StatementError(f"not a readable MT940 file: {error}") from error
    data = transactions.data
    if "account_identification" not in data:
        raise StatementError("no :25: account identification: not an MT940 statement")
    opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
    currency = opening.amount.currency if opening is not None else ""
    parsed = ParsedStatement(
        format="mt940",
        statement_id="/".join(
            part
            for part in (
                data.get("transaction_reference"),
                data.get("statement_number"),
                data.get("sequence_number"),
            )
            if part
        ),  # fmt: skip
        account_iban=(data.get("account_identification") or "").replace(" ", ""),
        currency=currency,
    )
    for transaction in transactions:
        t = transaction.data
        amount = Decimal(str(t["amount"].amount))
        booking = t.get("entry_date") or t.get("date")
        name = (t.get("applicant_name") or "").strip()
        iban = (t.get("applicant_iban") or t.get("gvc_applicant_iban") or "").strip()
        purpose = " ".join(
            part.strip() for part in (t.get("purpose"), t.get("additional_purpose")) if part
        )
        parsed.lines.append(
            ParsedLine(
                booking_date=dt.date(booking.year, booking.month, booking.day),
                value_date=dt.date(t["date"].year, t["date"].month, t["date"].day),
                amount=amount,
                currency=t.get("currency") or currency,
                counterparty_name=name[:200],
                counterparty_iban=iban,
                remittance=(purpose or t.get("transaction_details") or "")[:500],
                end_to_end_id=_clean_ref((t.get("end_to_end_reference") or "").strip()),
                bank_reference=(t.get("bank_reference") or "").strip(),
                return_reason=_return_code(amount, purpose),
            )
        )
    return parsed


def _return_code(amount: Decimal, purpose: str) -> str:
    if amount >= 0:
        return ""
    found = RETURN_CODE_RE.search(purpose or "")
    return found.group(1) if found else ""
