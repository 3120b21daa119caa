/**
 * What a typed Kysely app sends on a clean lease, per dialect: the statement
 * mix the sniff's instruction count runs over (none changes the session).
 */
export const CLEAN_STATEMENTS: Readonly<Record<'postgres' | 'mysql', readonly string[]>> = Object.freeze({
  postgres: [
    'select "id", "first_name", "last_name" from "person" where "id" = $1',
    'insert into "person" ("first_name", "last_name", "gender") values ($1, $2, $3) returning "id"',
    'update "person" set "last_name" = $1 where "id" = $2',
    'delete from "pet" where "owner_id" = $1',
    'select "person"."id", "pet"."name" as "pet_name" from "person" inner join "pet" on "pet"."owner_id" = "person"."id" where "person"."first_name" = $1 order by "pet"."name" limit $2 offset $3',
    'select count("id") as "count" from "pet" where "species" in ($1, $2)',
    'begin',
    'commit',
  ],
  mysql: [
    'select `id`, `first_name`, `last_name` from `person` where `id` = ?',
    'insert into `person` (`first_name`, `last_name`, `gender`) values (?, ?, ?)',
    'update `person` set `last_name` = ? where `id` = ?',
    'delete from `pet` where `owner_id` = ?',
    'select `person`.`id`, `pet`.`name` as `pet_name` from `person` inner join `pet` on `pet`.`owner_id` = `person`.`id` where `person`.`first_name` = ? order by `pet`.`name` limit ? offset ?',
    'select count(`id`) as `count` from `pet` where `species` in (?, ?)',
    'begin',
    'commit',
  ],
})
