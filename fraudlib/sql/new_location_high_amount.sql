-- new_location_high_amount: a high amount at a place new to the customer.
-- The customer's first transaction at a location in the lookback months and this month so
-- far, above both :min_amount and :factor times the average of the customer's earlier
-- transactions, for customers with at least :min_history of them: a card used far from its
-- owner's usual places tends to be used for a large amount. "High" is relative to the
-- customer (what is large for one is ordinary for a business); :min_amount is a floor, and
-- :min_history keeps brand-new customers, for whom every place is new, out.
-- Point in time: "new" and the baseline count only earlier transactions (`1 preceding`; ties
-- ordered by id like the seed rule). Sums are decimal(18,2) so the average does not depend
-- on summation order.
with history as (
    select id_transaccion, id_cliente, fecha, monto, ubicacion
    from transacciones
    where partition_range(anio, mes, :history_start, :month)
        and id_cliente is not null
        and monto is not null
        and ubicacion is not null
),

with_baseline as (
    select
        *,
        row_number() over (
            partition by id_cliente, ubicacion
            order by fecha, id_transaccion
        ) as uso_de_ubicacion,
        count(*) over (
            partition by id_cliente
            order by fecha, id_transaccion
            rows between unbounded preceding and 1 preceding
        ) as n_previas,
        sum(cast(monto as decimal(18, 2))) over (
            partition by id_cliente
            order by fecha, id_transaccion
            rows between unbounded preceding and 1 preceding
        ) as suma_previa
    from history
),

-- First use of a location, this month, by a customer with enough history.
first_use_here as (
    select
        *,
        cast(suma_previa as double) / n_previas as promedio_previo
    from with_baseline
    where fecha >= :month_start and fecha < :month_end
        and uso_de_ubicacion = 1
        and n_previas >= :min_history
),

-- "High" is whichever is higher: the floor or the customer's own multiple.
with_threshold as (
    select
        *,
        greatest(cast(:min_amount as double), :factor * promedio_previo) as umbral
    from first_use_here
)

select
    id_transaccion,
    id_cliente,
    fecha,
    monto,
    ubicacion,
    ubicacion as clave_alerta,
    true as marcada,
    monto / umbral as severidad,
    umbral,
    promedio_previo,
    n_previas
from with_threshold
where monto > umbral
