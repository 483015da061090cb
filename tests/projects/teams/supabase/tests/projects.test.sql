begin;
select plan(3);

select has_table('public', 'projects', 'projects exists');
select policies_are('public', 'projects', array['Members work on their accounts'' projects']);
select is(
  (select relrowsecurity from pg_class where oid = 'teams.members'::regclass),
  true,
  'memberships are behind RLS'
);

select * from finish();
rollback;
