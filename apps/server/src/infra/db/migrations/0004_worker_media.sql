CREATE TYPE "public"."answer_media_status" AS ENUM('processing', 'ready', 'failed');--> statement-breakpoint
CREATE TABLE "answer_media" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"session_id" uuid NOT NULL,
	"answer_id" uuid NOT NULL,
	"source_key" text NOT NULL,
	"status" "answer_media_status" DEFAULT 'processing' NOT NULL,
	"video_key" text,
	"poster_key" text,
	"audio_key" text,
	"frames_prefix" text,
	"frame_count" integer DEFAULT 0 NOT NULL,
	"duration_ms" integer,
	"width" integer,
	"height" integer,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"processed_at" timestamp with time zone,
	"frames_deleted_at" timestamp with time zone,
	"recording_deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "answer_media_answer_uq" UNIQUE("answer_id")
);
--> statement-breakpoint
CREATE TABLE "storage_orphans" (
	"key" text PRIMARY KEY NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "answer_media" ADD CONSTRAINT "answer_media_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "answer_media" ADD CONSTRAINT "answer_media_session_id_interview_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."interview_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "answer_media" ADD CONSTRAINT "answer_media_answer_id_answers_id_fk" FOREIGN KEY ("answer_id") REFERENCES "public"."answers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "answer_media_org_status_idx" ON "answer_media" USING btree ("org_id","status");--> statement-breakpoint
CREATE INDEX "answer_media_session_idx" ON "answer_media" USING btree ("session_id");