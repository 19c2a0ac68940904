"""Online charging in two calls a request (issue 16, benchmark): lock-and-read, then write.

``charging_online_state`` locks a session, its billing account and its buckets (in that order,
the order of every online service, so no deadlock) and returns in one JSON document what the
rating engine needs: the stored answer of a repeated request (R20), the plan of the session's
term, the account, its balance, the held reservation, the buckets with what is left of them and
the fair-use counts. ``charging_online_write`` writes in one call everything a request
decided: the release of the held reservation, a new hold, the usage event of a terminate with
its bucket draws, fair-use counts and charge, the answer (R20) and the session; then checks
that no balance went below its floor and no bucket below zero (R21), else raises and the
transaction rolls back. Both run inside the request's transaction: the locks taken by the first
are held until the commit.

Ledgers stay append-only: the functions only INSERT movements; a reservation row is closed
(its status and committed/released amounts set) once, as the ORM path does.

PostgreSQL only; on another database the ORM path of charging.online.services is used.
"""

from django.db import migrations

STATE = r"""
CREATE OR REPLACE FUNCTION charging_online_state(
    p_network bigint, p_reference text, p_session bigint, p_number integer
) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
    s charging_chargingsession%ROWTYPE;
    a subscribers_billingaccount%ROWTYPE;
    stored jsonb;
    plan bigint;
BEGIN
    IF p_session IS NOT NULL THEN
        SELECT * INTO s FROM charging_chargingsession WHERE id = p_session FOR UPDATE;
    ELSE
        SELECT * INTO s FROM charging_chargingsession
        WHERE host_network_id = p_network AND reference = p_reference FOR UPDATE;
    END IF;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT answer INTO stored FROM charging_chargingrequest
    WHERE session_id = s.id AND request_number = p_number;
    IF stored IS NOT NULL OR s.status <> 'active' OR s.billing_account_id IS NULL THEN
        RETURN jsonb_build_object('session', to_jsonb(s), 'replay', stored);
    END IF;
    SELECT t.plan_id INTO plan FROM subscribers_subscriptionterm t
    WHERE t.subscription_id = s.subscription_id AND t.valid_from <= s.started_at
      AND (t.valid_to IS NULL OR t.valid_to > s.started_at)
    ORDER BY t.valid_from DESC LIMIT 1;
    SELECT * INTO a FROM subscribers_billingaccount WHERE id = s.billing_account_id FOR UPDATE;
    PERFORM 1 FROM subscribers_bucket b
    WHERE (b.subscription_id = s.subscription_id OR (b.shared AND b.billing_account_id = a.id))
      AND b.valid_from <= s.started_at AND b.valid_to > s.started_at
    ORDER BY b.id FOR UPDATE OF b;
    RETURN jsonb_build_object(
        'session', to_jsonb(s),
        'replay', NULL,
        'plan', plan,
        'account', jsonb_build_object(
            'id', a.id, 'number', a.number, 'currency', a.currency, 'timezone', a.timezone,
            'bill_cycle_day', a.bill_cycle_day, 'payment_model', a.payment_model,
            'credit_limit', a.credit_limit::text),
        'balance', (SELECT coalesce(sum(m.amount), 0)::text FROM subscribers_balancemovement m
                    WHERE m.billing_account_id = a.id),
        'held', (SELECT jsonb_build_object('id', r.id, 'draws', r.draws,
                                           'amount', r.amount::text, 'currency', r.currency)
                 FROM charging_reservation r WHERE r.session_id = s.id AND r.status = 'held'),
        'buckets', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                'id', b.id, 'subscription_id', b.subscription_id,
                'billing_account_id', b.billing_account_id, 'shared', b.shared,
                'source', b.source, 'allowance_id', b.allowance_id, 'plan_id', pv.plan_id,
                'services', b.services, 'valid_from', b.valid_from, 'valid_to', b.valid_to,
                'initial', b.initial, 'moved', mv.moved, 'used', mv.used) ORDER BY b.id), '[]')
            FROM subscribers_bucket b
            LEFT JOIN catalog_planversion pv ON pv.id = b.plan_version_id
            CROSS JOIN LATERAL (
                SELECT coalesce(sum(m.quantity), 0) AS moved,
                       coalesce(sum(m.quantity) FILTER (WHERE m.kind = 'usage'), 0) AS used
                FROM subscribers_bucketmovement m WHERE m.bucket_id = b.id) mv
            WHERE (b.subscription_id = s.subscription_id
                   OR (b.shared AND b.billing_account_id = a.id))
              AND b.valid_from <= s.started_at AND b.valid_to > s.started_at),
        'fair_use', (
            SELECT coalesce(jsonb_agg(jsonb_build_array(f.policy_id, f.period_start, f.total,
                                                        f.notified)), '[]')
            FROM (SELECT policy_id, period_start, sum(quantity) AS total,
                         bool_or(notified) AS notified
                  FROM charging_fairusecount WHERE subscription_id = s.subscription_id
                  GROUP BY policy_id, period_start) f),
        'notified', (
            SELECT coalesce(jsonb_agg(n.kind || ' ' || n.key), '[]')
            FROM charging_chargingnotification n WHERE n.billing_account_id = a.id)
    );
END
$fn$;
"""

WRITE = r"""
CREATE OR REPLACE FUNCTION charging_online_write(p jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    at timestamptz := (p->>'now')::timestamptz;
    account bigint := (p->>'account')::bigint;
    rel jsonb := p->'release';
    hold jsonb := p->'hold';
    charge jsonb := p->'charge';
    ses jsonb := p->'session';
    held_id bigint;
    event_id bigint;
    touched bigint[] := '{}';
    total numeric;
    short bigint;
BEGIN
    IF rel IS NOT NULL THEN
        UPDATE charging_reservation SET
            status = rel->>'status', committed_units = (rel->>'committed_units')::bigint,
            committed_amount = (rel->>'committed_amount')::numeric,
            released_amount = (rel->>'released_amount')::numeric, closed_at = at
        WHERE id = (rel->>'id')::bigint AND status = 'held';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'reservation % is not held', rel->>'id';
        END IF;
        INSERT INTO subscribers_bucketmovement (bucket_id, kind, quantity, reason, reference,
                                                created_at)
        SELECT (d->>0)::bigint, 'release', (d->>1)::bigint, rel->>'reason',
               'online:' || (rel->>'id'), at
        FROM jsonb_array_elements(rel->'draws') d;
        touched := touched || ARRAY(SELECT (d->>0)::bigint FROM jsonb_array_elements(rel->'draws') d);
        IF (rel->>'amount')::numeric <> 0 THEN
            INSERT INTO subscribers_balancemovement (billing_account_id, kind, amount, currency,
                                                     reason, reference, created_at)
            VALUES (account, 'release', (rel->>'amount')::numeric, rel->>'currency',
                    rel->>'reason', 'online:' || (rel->>'id'), at);
        END IF;
    END IF;
    IF hold IS NOT NULL THEN
        INSERT INTO charging_reservation (session_id, request_number, status, units,
            covered_units, draws, currency, amount, committed_units, committed_amount,
            released_amount, created_at, valid_until)
        VALUES ((ses->>'id')::bigint, (hold->>'request_number')::integer, 'held',
            (hold->>'units')::bigint, (hold->>'covered_units')::bigint, hold->'draws',
            hold->>'currency', (hold->>'amount')::numeric, 0, 0, 0, at,
            (hold->>'valid_until')::timestamptz)
        RETURNING id INTO held_id;
        INSERT INTO subscribers_bucketmovement (bucket_id, kind, quantity, reason, reference,
                                                created_at)
        SELECT (d->>0)::bigint, 'reservation', -(d->>1)::bigint, hold->>'reason',
               'online:' || held_id, at
        FROM jsonb_array_elements(hold->'draws') d;
        touched := touched || ARRAY(SELECT (d->>0)::bigint FROM jsonb_array_elements(hold->'draws') d);
        IF (hold->>'amount')::numeric <> 0 THEN
            INSERT INTO subscribers_balancemovement (billing_account_id, kind, amount, currency,
                                                     reason, reference, created_at)
            VALUES (account, 'reservation', -(hold->>'amount')::numeric, p->>'currency',
                    hold->>'reason', 'online:' || held_id, at);
        END IF;
    END IF;
    IF charge IS NOT NULL THEN
        event_id := nextval(pg_get_serial_sequence('charging_usageevent', 'id'));
        INSERT INTO charging_usageevent
        SELECT (jsonb_populate_record(NULL::charging_usageevent,
                                      charge->'event' || jsonb_build_object('id', event_id))).*;
        INSERT INTO subscribers_bucketmovement (bucket_id, kind, quantity, reason, reference,
                                                usage_event_id, created_at)
        SELECT (d->>0)::bigint, 'usage', -(d->>1)::bigint, charge->>'draw_reason', '',
               event_id, at
        FROM jsonb_array_elements(charge->'draws') d;
        touched := touched || ARRAY(SELECT (d->>0)::bigint FROM jsonb_array_elements(charge->'draws') d);
        INSERT INTO charging_fairusecount (usage_event_id, subscription_id, policy_id,
                                           period_start, quantity, notified)
        SELECT event_id, (charge->>'subscription_id')::bigint, (f->>0)::bigint,
               (f->>1)::timestamptz, (f->>2)::bigint, (charge->>'notify_fair_use')::boolean
        FROM jsonb_array_elements(charge->'fair_use') f;
        IF (charge->>'amount')::numeric <> 0 THEN
            INSERT INTO subscribers_balancemovement (billing_account_id, kind, amount, currency,
                                                     reason, reference, created_at)
            VALUES (account, 'charge', -(charge->>'amount')::numeric, p->>'currency',
                    charge->>'reason', 'usage:' || event_id, at);
        END IF;
    END IF;
    -- R21: no balance below its floor, no bucket below zero, whatever the caller computed.
    IF p->>'floor' IS NOT NULL THEN
        SELECT coalesce(sum(m.amount), 0) INTO total FROM subscribers_balancemovement m
        WHERE m.billing_account_id = account;
        IF total < (p->>'floor')::numeric THEN
            RAISE EXCEPTION 'overdraft: balance % below %', total, p->>'floor'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    SELECT b.id INTO short FROM subscribers_bucket b
    WHERE b.id = ANY(touched)
      AND b.initial + (SELECT coalesce(sum(m.quantity), 0) FROM subscribers_bucketmovement m
                       WHERE m.bucket_id = b.id) < 0
    LIMIT 1;
    IF short IS NOT NULL THEN
        RAISE EXCEPTION 'overdraft: bucket % below zero', short USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO charging_chargingrequest (session_id, request_number, request_type, answer,
                                          created_at)
    VALUES ((ses->>'id')::bigint, (p->>'request_number')::integer, p->>'request_type',
            p->'answer', at);
    UPDATE charging_chargingsession SET
        status = ses->>'status', granted_units = (ses->>'granted_units')::bigint,
        used_units = (ses->>'used_units')::bigint,
        expires_at = (ses->>'expires_at')::timestamptz,
        ended_at = (ses->>'ended_at')::timestamptz,
        last_request_number = (ses->>'last_request_number')::integer, last_request_at = at,
        usage_event_id = coalesce(event_id, (ses->>'usage_event_id')::bigint),
        end_reason = ses->>'end_reason'
    WHERE id = (ses->>'id')::bigint;
    RETURN jsonb_build_object('reservation', held_id, 'usage_event', event_id);
END
$fn$;
"""

DROP = """
DROP FUNCTION IF EXISTS charging_online_write(jsonb);
DROP FUNCTION IF EXISTS charging_online_state(bigint, text, bigint, integer);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(STATE, params=None)
    schema_editor.execute(WRITE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("charging", "0010_sums_checked_at_their_places")]

    operations = [migrations.RunPython(create, drop)]
