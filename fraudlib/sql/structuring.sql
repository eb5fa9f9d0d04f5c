-- structuring: several amounts just under the reporting threshold within days.
-- At least :min_count transactions by one customer, each in
-- [:threshold * (1 - :margin), :threshold), within :window_days ending at this one: splitting
-- a sum so that no single transaction reaches the amount the bank must report.
-- Point in time: the window ends at the transaction (`current row`, never `following`);
-- simultaneous transactions are ordered by id, like the seed rule. The window may reach into
-- the previous month, which is read for that (so :window_days is at most about 28).
with history as (
    select id_transaccion, id_cliente, fecha, monto, ubicacion
    from transacciones
    where partition_range(anio, mes, :history_start, :month)
        and id_cliente is not null
        and monto is not null
        and ubicacion is not null
),

-- Only amounts in the band matter: the rule counts nothing else.
just_under_threshold as (
    select id_transaccion, id_cliente, fecha, monto, ubicacion
    from history
    where monto >= :threshold * (1 - :margin)
        and monto < :threshold
),

counted as (
    select
        *,
        -- A RANGE frame sees every transaction at the same instant (its peers); remove the
        -- peers that come after this one in id order.
        count(*) over (
            partition by id_cliente
            order by fecha
            range between :window_days preceding and current row
        )
        - count(*) over (partition by id_cliente, fecha)
        + row_number() over (partition by id_cliente, fecha order by id_transaccion)
            as en_ventana,
        lag(fecha) over (partition by id_cliente order by fecha, id_transaccion) as anterior
    from just_under_threshold
),

-- One episode is a run of such amounts each within :window_days of the one before; its first
-- transaction names the alert.
runs as (
    select
        *,
        sum(case when anterior is null or fecha > anterior + :window_days then 1 else 0 end)
            over (
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

this_month as (
    select
        *,
        en_ventana >= :min_count as es_fraccionamiento,
        max(case when en_ventana >= :min_count then 1 else 0 end) over (
            partition by id_cliente, primera_de_racha
        ) as racha_marcada
    from keyed
    where fecha >= :month_start and fecha < :month_end
)

select
    id_transaccion,
    id_cliente,
    fecha,
    monto,
    ubicacion,
    primera_de_racha as clave_alerta,
    es_fraccionamiento as marcada,
    cast(en_ventana as double) / :min_count as severidad,
    en_ventana
from this_month
where racha_marcada = 1
