"""RLS contract: run statements the way Supabase's API does, and prove what each identity can do."""
