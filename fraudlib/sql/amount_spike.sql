-- amount_spike: an amount far above the customer's own history.
-- A transaction above :min_amount and more than :factor times the average of the customer's
-- earlier transactions, for customers with at least :min_history of them: a stolen card or a
-- taken-over account spends like the thief, not like the customer. A baseline of the
-- customer's own, rather than one amount for all, keeps a business's ordinary payments from
-- looking like a retail customer's spike.
-- Point in time: the baseline is every earlier transaction (`1 preceding`, ties ordered by
-- id like the seed rule) from the lookback months and this month. Sums are decimal(18,2) so
-- the average does not depend on summation order.
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

judged as (
    select
        *,
        cast(suma_previa as double) / n_previas as promedio_previo
    from with_baseline
    where fecha >= :month_start and fecha < :month_end
        and n_previas >= :min_history
)

select
    id_transaccion,
    id_cliente,
    fecha,
    monto,
    ubicacion,
    id_transaccion as clave_alerta,
    true as marcada,
    monto / promedio_previo / :factor as severidad,
    promedio_previo,
    n_previas
from judged
where monto > :min_amount
    and monto > :factor * promedio_previo
