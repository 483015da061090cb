-- The training export's rows: each piece of feedback with the agent queries of its conversation.
select
    f.id,
    f.project,
    f.conversation_id,
    f.input_text,
    f.model_draft,
    f.safe_to_send,
    f.labels,
    f.rubric,
    f.annotator,
    f.notes,
    f.created_at::text as created_at,
    coalesce((
        select
            jsonb_agg(jsonb_build_object(
                'agent', q.agent, 'query', q.query, 'approved', q.approved,
                'human_edited', q.human_edited, 'latency_ms', q.latency_ms
            ) order by q.id)
        from public.agent_queries as q
        where q.project = f.project and q.conversation_id = f.conversation_id
    ), '[]'::jsonb) as queries
from public.agent_feedback as f
order by f.id;
