-- ALTER DEFAULT PRIVILEGES entries: what future objects of a role in a schema will grant.
select
    pg_catalog.format(
        '%s on %s in %s for %s to %s', x.privilege_type, d.defaclobjtype,
        coalesce(quote_ident(n.nspname), 'all schemas'), pg_catalog.pg_get_userbyid(d.defaclrole),
        case when x.grantee = 0 then 'public' else pg_catalog.pg_get_userbyid(x.grantee) end
    ) as key,
    coalesce(n.nspname, '') as schema,
    pg_catalog.pg_get_userbyid(d.defaclrole) as owner,
    d.defaclobjtype::text as object_type,
    case when x.grantee = 0 then 'public' else pg_catalog.pg_get_userbyid(x.grantee) end as grantee,
    x.privilege_type as privilege
from pg_catalog.pg_default_acl as d
left join pg_catalog.pg_namespace as n on d.defaclnamespace = n.oid
cross join lateral pg_catalog.aclexplode(d.defaclacl) as x
order by 1;
