-- large_sum_at_location: the seed rule.
-- A customer whose transactions above :min_amount, at one location other than the trusted
-- ones, add up to more than :min_total within the month. Totals are summed as decimal(18,2)
-- so the result does not depend on summation order.
-- Point in time: a transaction is flagged once the running total at that location, counting
-- only it and earlier transactions, exceeds :min_total; the earlier large ones are evidence.
with month_transactions as (
    select id_transaccion, id_cliente, fecha, monto, ubicacion
    from transacciones
    where partition_range(anio, mes, :month, :month)
),

large_away_from_trusted as (
    select id_transaccion, id_cliente, fecha, monto, ubicacion
    from month_transactions
    where monto > :min_amount
        and id_cliente is not null
        and ubicacion not in (:trusted_locations)
),

running_totals as (
    select
        *,
        sum(cast(monto as decimal(18, 2))) over (
            partition by id_cliente, ubicacion
            order by fecha, id_transaccion
            rows between unbounded preceding and current row
        ) as total_acumulado,
        sum(cast(monto as decimal(18, 2))) over (partition by id_cliente, ubicacion) as total_mes
    from large_away_from_trusted
)

select
    id_transaccion,
    id_cliente,
    fecha,
    monto,
    ubicacion,
    ubicacion as clave_alerta,
    total_acumulado > :min_total as marcada,
    cast(total_acumulado as double) / :min_total as severidad,
    cast(total_acumulado as double) as total_acumulado,
    cast(total_mes as double) as total_mes
from running_totals
where total_mes > :min_total
