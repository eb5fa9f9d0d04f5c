-- compromised_location (version 3): a customer new to a place with recently confirmed fraud.
-- A transaction is flagged when, at its fecha, at least :min_victims different customers are
-- known to have been defrauded at its location within the :window_days before it, and its
-- customer is new there: no transaction of theirs at that location in the lookback before the
-- :new_days before it. A skimmed ATM or a colluding merchant is where stolen or cloned cards
-- are used until it is fixed, and a cloned card is cashed out where the real cardholder does
-- not go; the place's regular customers, who used it before, are not flagged (version 1 did
-- flag every customer there, which was mostly them). :new_days keeps a newcomer new for a
-- while, so that a card's second withdrawal there is flagged too.
-- "New there" means something only for a customer with a history: one with fewer than
-- :min_history transactions before this one in the lookback (a new customer, or the first
-- weeks of a data set) is new everywhere, and is not flagged (version 2 flagged them).
-- Victims are counted, not transactions, because one victim's several disputed transactions
-- are one case, and several victims at one place is what tells a compromised place from a
-- stolen card that happened to be used there. Places that are not a physical point
-- (:excluded_locations, e.g. online banking) are never compromised in this sense.
-- Point in time: a fraud counts only once confirmed (`fecha_confirmacion` before this
-- transaction's fecha) and only if it happened before it; a transaction is never judged on
-- its own confirmation (always later than itself, and excluded outright besides). Whether the
-- customer is new depends only on whether they have a transaction there before
-- fecha - :new_days, and their history only on their transactions strictly before this one
-- (ordered by fecha, then id_transaccion, like the other rules), which later data cannot
-- change.
-- Frauds, earlier visits and the history are read over the lookback (two months before the
-- month, and the month), which must cover :window_days; regulars are recognised within it
-- only.
with confirmed as (
    -- confirmations from the end of the month on cannot be known to any of its transactions
    select id_transaccion, fecha_confirmacion
    from fraudes_confirmados
    where fecha_confirmacion < :month_end
),

fraud_places as (
    select t.id_transaccion, t.id_cliente, t.fecha, t.ubicacion, c.fecha_confirmacion
    from transacciones as t
    inner join confirmed as c on t.id_transaccion = c.id_transaccion
    where partition_range(t.anio, t.mes, :history_start, :month)
        and t.id_cliente is not null
        and t.ubicacion is not null
        and t.ubicacion not in (:excluded_locations)
),

-- Each customer's first transaction in the lookback at each place with confirmed fraud.
first_visits as (
    select id_cliente, ubicacion, min(fecha) as primera_visita
    from transacciones
    where partition_range(anio, mes, :history_start, :month)
        and id_cliente is not null
        and ubicacion in (select ubicacion from fraud_places)
    group by id_cliente, ubicacion
),

month_transactions as (
    select t.id_transaccion, t.id_cliente, t.fecha, t.monto, t.ubicacion, v.primera_visita
    from transacciones as t
    inner join first_visits as v on t.id_cliente = v.id_cliente and t.ubicacion = v.ubicacion
    where partition_range(t.anio, t.mes, :month, :month)
        and t.id_cliente is not null
        and t.monto is not null
        and t.ubicacion is not null
),

-- For each new customer's transaction at a place with fraud, the frauds there known then.
known_fraud as (
    select
        m.id_transaccion,
        count(distinct f.id_cliente) as clientes_defraudados,
        count(distinct f.id_transaccion) as fraudes_conocidos,
        max(f.fecha) as ultimo_fraude,
        max(f.fecha_confirmacion) as ultima_confirmacion
    from month_transactions as m
    inner join fraud_places as f
        on m.ubicacion = f.ubicacion
        and f.fecha_confirmacion < m.fecha
        and f.fecha < m.fecha
        and f.fecha >= m.fecha - :window_days
        and f.id_transaccion <> m.id_transaccion
    where m.primera_visita >= m.fecha - :new_days
    group by m.id_transaccion
    having count(distinct f.id_cliente) >= :min_victims
),

-- The customer's transactions in the lookback strictly before each would-be flag (fecha,
-- then id_transaccion): read only for the customers of those few transactions.
candidates as (
    select m.id_transaccion, m.id_cliente, m.fecha
    from month_transactions as m
    inner join known_fraud as k on m.id_transaccion = k.id_transaccion
),

customer_transactions as (
    select id_transaccion, id_cliente, fecha
    from transacciones
    where partition_range(anio, mes, :history_start, :month)
        and id_cliente in (select id_cliente from candidates)
),

with_history as (
    select c.id_transaccion, count(h.id_transaccion) as n_previas
    from candidates as c
    left join customer_transactions as h
        on c.id_cliente = h.id_cliente
        and (h.fecha < c.fecha or (h.fecha = c.fecha and h.id_transaccion < c.id_transaccion))
    group by c.id_transaccion
)

select
    m.id_transaccion,
    m.id_cliente,
    m.fecha,
    m.monto,
    m.ubicacion,
    m.ubicacion as clave_alerta,
    true as marcada,
    cast(k.clientes_defraudados as double) / :min_victims as severidad,
    k.clientes_defraudados,
    k.fraudes_conocidos,
    k.ultimo_fraude,
    k.ultima_confirmacion,
    m.primera_visita,
    n.n_previas
from month_transactions as m
inner join known_fraud as k on m.id_transaccion = k.id_transaccion
inner join with_history as n on m.id_transaccion = n.id_transaccion
where n.n_previas >= :min_history
