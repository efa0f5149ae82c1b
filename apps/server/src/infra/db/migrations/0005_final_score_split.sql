ALTER TYPE "public"."score_kind" ADD VALUE 'technical';--> statement-breakpoint
ALTER TYPE "public"."score_kind" ADD VALUE 'communication';