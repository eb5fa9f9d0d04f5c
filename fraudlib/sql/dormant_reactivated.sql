-- dormant_reactivated: a long-quiet customer suddenly moving a large amount.
-- A customer reactivates with a transaction that comes at least :dormant_days after their
-- previous one. From then on, for :window_days, a transaction is flagged when it, or the sum
-- of the customer's transactions since reactivating (it included), is above :min_amount:
-- a taken-over or sold dormant account is emptied or used as a mule fast.
-- A customer with no earlier transaction in the lookback is new, not dormant, and is never
-- flagged: without a past there is no silence to break. The lookback (six months before the
-- month) therefore bounds how long a silence this rule can see; :dormant_days must stay
-- well under it.
-- Point in time: the silence is measured with lag (earlier rows only) and the sum runs up to
-- the transaction (`current row`); simultaneous transactions are ordered by id.
with history as (
    select id_transaccion, id_cliente, fecha, monto, ubicacion
    from transacciones
    where partition_range(anio, mes, :history_start, :month)
        and id_cliente is not null
        and monto is not null
        and ubicacion is not null
),

gaps as (
    select
        *,
        lag(fecha) over (partition by id_cliente order by fecha, id_transaccion) as anterior
    from history
),

-- Episode 0 is the customer's activity before any reactivation seen in the lookback; each
-- reactivation starts the next episode.
episodes as (
    select
        *,
        sum(case when anterior <= fecha - :dormant_days then 1 else 0 end) over (
            partition by id_cliente
            order by fecha, id_transaccion
            rows between unbounded preceding and current row
        ) as episodio
    from gaps
),

since_reactivation as (
    select
        *,
        first_value(id_transaccion) over (
            partition by id_cliente, episodio
            order by fecha, id_transaccion
            rows between unbounded preceding and current row
        ) as id_reactivacion,
        first_value(fecha) over (
            partition by id_cliente, episodio
            order by fecha, id_transaccion
            rows between unbounded preceding and current row
        ) as reactivada_en,
        first_value(anterior) over (
            partition by id_cliente, episodio
            order by fecha, id_transaccion
            rows between unbounded preceding and current row
        ) as activa_antes,
        -- summed as decimal(18,2) so ties at :min_amount do not depend on summation order
        sum(cast(monto as decimal(18, 2))) over (
            partition by id_cliente, episodio
            order by fecha, id_transaccion
            rows between unbounded preceding and current row
        ) as suma_desde_reactivacion
    from episodes
    where episodio > 0
),

judged as (
    select
        *,
        monto > :min_amount or suma_desde_reactivacion > :min_amount as es_grande,
        greatest(cast(monto as double), cast(suma_desde_reactivacion as double))
        / :min_amount as severidad
    from since_reactivation
    -- transactions are ordered in time, so those within the window are a prefix of the
    -- episode and the running sum counts only them
    where fecha <= reactivada_en + :window_days
),

this_month as (
    select
        *,
        max(case when es_grande then 1 else 0 end) over (
            partition by id_cliente, id_reactivacion
        ) as reactivacion_marcada
    from judged
    where fecha >= :month_start and fecha < :month_end
)

select
    id_transaccion,
    id_cliente,
    fecha,
    monto,
    ubicacion,
    id_reactivacion as clave_alerta,
    es_grande as marcada,
    severidad,
    reactivada_en,
    date_diff('day', activa_antes, reactivada_en) as dias_inactiva,
    cast(suma_desde_reactivacion as double) as suma_desde_reactivacion
from this_month
where reactivacion_marcada = 1
