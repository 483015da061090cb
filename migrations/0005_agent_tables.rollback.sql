drop table if exists public.agent_queries;
drop table if exists public.agent_feedback;
drop table if exists public.agent_approvals;
