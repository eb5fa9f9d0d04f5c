-- impossible_travel: two transactions of one customer too far apart for the time between.
-- A transaction is flagged when the great-circle (haversine) distance from the customer's
-- previous transaction with coordinates is at least :min_km and the speed needed to cover
-- it exceeds :max_speed_kmh: the same card (or a copy) in two cities at once. Transactions
-- without coordinates (online banking) have no place, so they neither flag nor break a leg.
-- :min_km keeps terminals in one city, whose clocks and coordinates are not exact, out;
-- places that say nothing about where the customer is (:excluded_locations: operations
-- booked at the main office, online banking) are left out.
-- Elapsed time is taken as at least one minute: terminal clocks are not exact to the
-- second, and simultaneous transactions then still give a finite speed (and severidad).
-- Point in time: each leg ends at the transaction and starts at the one before it (lag);
-- simultaneous transactions are ordered by id. The previous month is read so that the
-- first transaction of the month has its previous one.
with history as (
    select id_transaccion, id_cliente, fecha, monto, ubicacion, latitud, longitud
    from transacciones
    where partition_range(anio, mes, :history_start, :month)
        and id_cliente is not null
        and monto is not null
        and ubicacion is not null
        and latitud is not null
        and longitud is not null
        and ubicacion not in (:excluded_locations)
),

legs as (
    select
        *,
        lag(id_transaccion) over (
            partition by id_cliente order by fecha, id_transaccion
        ) as id_anterior,
        lag(fecha) over (partition by id_cliente order by fecha, id_transaccion) as fecha_anterior,
        lag(ubicacion) over (
            partition by id_cliente order by fecha, id_transaccion
        ) as ubicacion_anterior,
        lag(latitud) over (
            partition by id_cliente order by fecha, id_transaccion
        ) as latitud_anterior,
        lag(longitud) over (
            partition by id_cliente order by fecha, id_transaccion
        ) as longitud_anterior
    from history
),

distances as (
    select
        *,
        -- haversine on a sphere of radius 6371 km
        2 * 6371.0 * asin(sqrt(
            power(sin(radians(latitud - latitud_anterior) / 2), 2)
            + cos(radians(latitud_anterior)) * cos(radians(latitud))
            * power(sin(radians(longitud - longitud_anterior) / 2), 2)
        )) as km,
        cast(greatest(date_diff('millisecond', fecha_anterior, fecha), 60000) as double)
        / 3600000 as horas
    from legs
    where id_anterior is not null
),

judged as (
    select
        *,
        km / horas as velocidad_kmh,
        km >= :min_km and km / horas > :max_speed_kmh as es_imposible
    from distances
),

-- The flagged transaction and where the customer was just before it (when in this month).
involved as (
    select id_transaccion from judged where es_imposible
    union
    select id_anterior from judged where es_imposible
)

select
    h.id_transaccion,
    h.id_cliente,
    h.fecha,
    h.monto,
    h.ubicacion,
    h.id_cliente as clave_alerta,
    coalesce(j.es_imposible, false) as marcada,
    coalesce(j.velocidad_kmh / :max_speed_kmh, 0.0) as severidad,
    j.km,
    j.velocidad_kmh,
    j.ubicacion_anterior,
    j.fecha_anterior
from history as h
left join judged as j on h.id_transaccion = j.id_transaccion
where h.fecha >= :month_start
    and h.fecha < :month_end
    and h.id_transaccion in (select id_transaccion from involved)
