-- burst_of_transactions: velocity.
-- At least :min_count transactions by one customer within :window, ending at this one: card
-- testing and account takeover spend fast, before the victim or the bank can react.
-- Point in time: the window ends at the transaction (`current row`, never `following`);
-- simultaneous transactions are ordered by id, like the seed rule, so a transaction never
-- counts one that the order puts after it. Busy customers (a shop's deposits) are recognised
-- from their own history: those who had a burst on :routine_burst_days earlier days of the
-- lookback are not flagged.
with history as (
    select id_transaccion, id_cliente, fecha, monto, ubicacion
    from transacciones
    where partition_range(anio, mes, :history_start, :month)
        and id_cliente is not null
        and monto is not null
        and ubicacion is not null
),

counted as (
    select
        *,
        -- A RANGE frame sees every transaction at the same instant (its peers); remove the
        -- peers that come after this one in id order.
        count(*) over (
            partition by id_cliente
            order by fecha
            range between :window preceding and current row
        )
        - count(*) over (partition by id_cliente, fecha)
        + row_number() over (partition by id_cliente, fecha order by id_transaccion)
            as en_ventana,
        lag(fecha) over (partition by id_cliente order by fecha, id_transaccion) as anterior
    from history
),

-- One burst is a run of transactions each within :window of the one before; its first
-- transaction names the alert, so one burst is one alert even across midnight.
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

-- The customer's routine: on how many earlier days (within the lookback) they had a burst.
days_with_burst as (
    select
        id_cliente,
        cast(fecha as date) as dia,
        max(case when en_ventana >= :min_count then 1 else 0 end) as hubo_rafaga
    from counted
    group by id_cliente, cast(fecha as date)
),

routine as (
    select
        id_cliente,
        dia,
        coalesce(
            sum(hubo_rafaga) over (
                partition by id_cliente
                order by dia
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as dias_con_rafaga_antes
    from days_with_burst
),

judged as (
    select
        k.*,
        r.dias_con_rafaga_antes,
        k.en_ventana >= :min_count
            and r.dias_con_rafaga_antes < :routine_burst_days as es_rafaga
    from keyed as k
    inner join routine as r
        on k.id_cliente = r.id_cliente and cast(k.fecha as date) = r.dia
),

this_month as (
    select
        *,
        max(case when es_rafaga then 1 else 0 end) over (
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
    es_rafaga as marcada,
    cast(en_ventana as double) / :min_count as severidad,
    en_ventana,
    dias_con_rafaga_antes
from this_month
where racha_marcada = 1
