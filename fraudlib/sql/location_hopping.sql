-- location_hopping: one customer at many places in a short time.
-- A transaction is flagged when its customer moved to another place at least :min_locations
-- times within :window ending at it: a cloned card (or several) used across a city, or a
-- mule emptying ATMs one after another. A move is a transaction at a place other than the
-- customer's last three (the previous one may lie before the window: arriving somewhere
-- counts), so a -> b -> c -> d -> e is four moves, while going back and forth between a
-- branch and two shops (a business at work) is not hopping. Distinct places cannot be
-- counted by a window function in Trino, hence moves found with lag.
-- Places that say nothing about where the customer is (:excluded_locations: online banking,
-- operations booked at the main office) are left out, so a -> online -> b is one move.
-- Customers for whom this is routine (hops on :routine_hop_days earlier days of the
-- lookback: couriers, a business paying around town) are recognised from their own history
-- and not flagged.
-- Point in time: moves are found with lag (earlier rows only) and summed over a window
-- that ends at the transaction; simultaneous transactions are ordered by id, so one never
-- counts a move that the order puts after it. The previous month is read so that a window
-- reaching back across the month boundary sees its transactions.
with history as (
    select id_transaccion, id_cliente, fecha, monto, ubicacion
    from transacciones
    where partition_range(anio, mes, :history_start, :month)
        and id_cliente is not null
        and monto is not null
        and ubicacion is not null
        and ubicacion not in (:excluded_locations)
),

places_before as (
    select
        *,
        lag(ubicacion, 1) over (
            partition by id_cliente order by fecha, id_transaccion
        ) as ubicacion_anterior,
        lag(ubicacion, 2) over (
            partition by id_cliente order by fecha, id_transaccion
        ) as ubicacion_anterior_2,
        lag(ubicacion, 3) over (
            partition by id_cliente order by fecha, id_transaccion
        ) as ubicacion_anterior_3,
        lag(fecha) over (partition by id_cliente order by fecha, id_transaccion) as anterior
    from history
),

moves as (
    select
        *,
        case
            when ubicacion <> ubicacion_anterior
                and ubicacion is distinct from ubicacion_anterior_2
                and ubicacion is distinct from ubicacion_anterior_3
                then 1
            else 0
        end as es_movimiento
    from places_before
),

counted as (
    select
        *,
        -- A RANGE frame sees every transaction at the same instant (its peers); remove the
        -- moves of the peers that come after this one in id order.
        sum(es_movimiento) over (
            partition by id_cliente
            order by fecha
            range between :window preceding and current row
        )
        - sum(es_movimiento) over (partition by id_cliente, fecha)
        + sum(es_movimiento) over (
            partition by id_cliente, fecha
            order by id_transaccion
            rows between unbounded preceding and current row
        ) as movimientos_en_ventana
    from moves
),

-- One episode is a run of transactions each within :window of the one before; its first
-- transaction names the alert, so one episode is one alert even across midnight.
runs as (
    select
        *,
        sum(case when anterior is null or fecha > anterior + :window then 1 else 0 end) over (
            partition by id_cliente
            order by fecha, id_transaccion
            rows between unbounded preceding and current row
        ) as numero_racha
    from counted
),

keyed as (
    select
        *,
        first_value(id_transaccion) over (
            partition by id_cliente, numero_racha
            order by fecha, id_transaccion
            rows between unbounded preceding and current row
        ) as primera_de_racha
    from runs
),

-- The customer's routine: on how many earlier days (within the lookback) they hopped.
days_with_hops as (
    select
        id_cliente,
        cast(fecha as date) as dia,
        max(case when movimientos_en_ventana >= :min_locations then 1 else 0 end) as hubo_saltos
    from counted
    group by id_cliente, cast(fecha as date)
),

routine as (
    select
        id_cliente,
        dia,
        coalesce(
            sum(hubo_saltos) over (
                partition by id_cliente
                order by dia
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as dias_con_saltos_antes
    from days_with_hops
),

judged as (
    select
        k.*,
        r.dias_con_saltos_antes,
        k.movimientos_en_ventana >= :min_locations
            and r.dias_con_saltos_antes < :routine_hop_days as es_salto
    from keyed as k
    inner join routine as r
        on k.id_cliente = r.id_cliente and cast(k.fecha as date) = r.dia
),

-- The whole episode is evidence (including the hops before the threshold was reached);
-- only `es_salto`, judged at each transaction, flags.
this_month as (
    select
        *,
        max(case when es_salto then 1 else 0 end) over (
            partition by id_cliente, primera_de_racha
        ) as racha_marcada
    from judged
    where fecha >= :month_start and fecha < :month_end
)

select
    id_transaccion,
    id_cliente,
    fecha,
    monto,
    ubicacion,
    primera_de_racha as clave_alerta,
    es_salto as marcada,
    cast(movimientos_en_ventana as double) / :min_locations as severidad,
    cast(movimientos_en_ventana as bigint) as movimientos_en_ventana,
    ubicacion_anterior,
    dias_con_saltos_antes
from this_month
where racha_marcada = 1
