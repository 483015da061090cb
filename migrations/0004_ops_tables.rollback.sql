drop table if exists public.support_curated_replies;
drop table if exists public.observability_logs;
drop view if exists public.decision_sync_events;
drop table if exists public.decision_sync_event_logs;
drop table if exists public.facts;
