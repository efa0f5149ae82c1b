CREATE TYPE "public"."video_emotion_status" AS ENUM('running', 'done', 'skipped', 'failed');--> statement-breakpoint
CREATE TABLE "video_emotion_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"session_id" uuid NOT NULL,
	"answer_id" uuid NOT NULL,
	"source_key" text NOT NULL,
	"frames_prefix" text NOT NULL,
	"frames_per_second" real NOT NULL,
	"seq_slot" integer NOT NULL,
	"status" "video_emotion_status" DEFAULT 'running' NOT NULL,
	"frames_total" integer DEFAULT 0 NOT NULL,
	"frames_done" integer DEFAULT 0 NOT NULL,
	"summary" jsonb,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "video_emotion_runs_answer_uq" UNIQUE("answer_id"),
	CONSTRAINT "video_emotion_runs_session_slot_uq" UNIQUE("session_id","seq_slot"),
	CONSTRAINT "video_emotion_runs_progress" CHECK ("video_emotion_runs"."frames_done" >= 0 AND "video_emotion_runs"."frames_done" <= "video_emotion_runs"."frames_total")
);
--> statement-breakpoint
ALTER TABLE "video_emotion_runs" ADD CONSTRAINT "video_emotion_runs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "video_emotion_runs" ADD CONSTRAINT "video_emotion_runs_session_id_interview_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."interview_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "video_emotion_runs" ADD CONSTRAINT "video_emotion_runs_answer_id_answers_id_fk" FOREIGN KEY ("answer_id") REFERENCES "public"."answers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "video_emotion_runs_org_status_idx" ON "video_emotion_runs" USING btree ("org_id","status");