import type { TOrganization } from '@parley/contracts';
import { useState, type FormEvent } from 'react';
import { fieldErrors } from '../api/errors.ts';
import { useStaff } from '../auth/staff-context.tsx';
import { AsyncView, ErrorMessage, Field, PageTitle, useAction, useAsync } from '../ui/ui.tsx';

type Policy = TOrganization['emotionPolicy'];

const POLICIES: { value: Policy; label: string; hint: string }[] = [
  { value: 'off', label: 'Off', hint: 'Video is never analysed.' },
  {
    value: 'insights',
    label: 'Insights only',
    hint: 'Recruiters see the analysis beside the answers; it never changes a score.',
  },
  {
    value: 'scored',
    label: 'Scored',
    hint: 'The analysis is weighted into the final score. Candidates are asked for consent either way.',
  },
];

export function OrganizationPage() {
  const { api } = useStaff();
  const org = useAsync(() => api.organization(), []);
  // Kept here: the form is re-created from the saved values, so its own state would be lost.
  const [saved, setSaved] = useState(false);
  return (
    <>
      <PageTitle title="Organisation">Organisation policies</PageTitle>
      <AsyncView value={org} label="organisation policies">
        {(data) => (
          <PoliciesForm
            key={JSON.stringify(data)}
            org={data}
            saved={saved}
            onEdit={() => setSaved(false)}
            onSaved={(next) => {
              org.set(next);
              setSaved(true);
            }}
          />
        )}
      </AsyncView>
    </>
  );
}

/** Days as typed: empty means "not set" for the optional tiers. */
const daysText = (d: number | null) => (d === null ? '' : String(d));
const parseDays = (text: string): number | null => (text.trim() === '' ? null : Number(text));

function PoliciesForm({
  org,
  saved,
  onEdit,
  onSaved,
}: {
  org: TOrganization;
  saved: boolean;
  onEdit: () => void;
  onSaved: (org: TOrganization) => void;
}) {
  const { api } = useStaff();
  const [policy, setPolicy] = useState<Policy>(org.emotionPolicy);
  const [sessions, setSessions] = useState(daysText(org.retentionDays));
  const [recordings, setRecordings] = useState(daysText(org.recordingRetentionDays));
  const [frames, setFrames] = useState(daysText(org.frameRetentionDays));
  const submit = useAction(async () => {
    const body = {
      emotionPolicy: policy,
      retentionDays: parseDays(sessions) ?? org.retentionDays,
      recordingRetentionDays: parseDays(recordings),
      frameRetentionDays: parseDays(frames),
    };
    onSaved(await api.updateOrganization(body));
  });
  const errors = fieldErrors(submit.error);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    onEdit();
    submit.run();
  };
  return (
    <form onSubmit={onSubmit} aria-label={`Policies of ${org.name}`}>
      <fieldset>
        <legend>Video analysis</legend>
        <p className="muted" style={{ marginTop: 0 }}>
          Applies to every interview of {org.name}; an interview may only ask for less.
        </p>
        {POLICIES.map((p) => (
          <div className="check" key={p.value}>
            <input
              type="radio"
              id={`policy-${p.value}`}
              name="emotionPolicy"
              value={p.value}
              checked={policy === p.value}
              onChange={() => setPolicy(p.value)}
              aria-describedby={`policy-${p.value}-hint`}
            />
            <div>
              <label htmlFor={`policy-${p.value}`}>{p.label}</label>
              <span className="muted" id={`policy-${p.value}-hint`}>
                {p.hint}
              </span>
            </div>
          </div>
        ))}
      </fieldset>
      <fieldset>
        <legend>Retention</legend>
        <p className="muted" style={{ marginTop: 0 }}>
          Data older than this is deleted every night. A shorter kind of data cannot be kept longer than sessions.
        </p>
        <div className="grid">
          <DaysField
            label="Sessions (days)"
            hint="Answers, scores, reports and all their media"
            error={errors.retentionDays}
            required
            value={sessions}
            onChange={setSessions}
          />
          <DaysField
            label="Recordings (days)"
            hint="Empty: as long as the session"
            error={errors.recordingRetentionDays}
            value={recordings}
            onChange={setRecordings}
          />
          <DaysField
            label="Video frames (days)"
            hint="Empty: 30 days"
            error={errors.frameRetentionDays}
            value={frames}
            onChange={setFrames}
          />
        </div>
      </fieldset>
      <ErrorMessage error={submit.error} />
      {saved && (
        <p className="success" role="status">
          Saved. The change is in the audit log.
        </p>
      )}
      <button type="submit" disabled={submit.busy}>
        {submit.busy ? 'Saving…' : 'Save policies'}
      </button>
    </form>
  );
}

/** A whole number of days, 1 to 100 years. */
function DaysField(props: {
  label: string;
  hint: string;
  error: string | undefined;
  required?: boolean;
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <Field label={props.label} hint={props.hint} error={props.error}>
      {(p) => (
        <input
          {...p}
          type="number"
          required={props.required}
          min={1}
          max={36500}
          step={1}
          value={props.value}
          onChange={(e) => props.onChange(e.target.value)}
        />
      )}
    </Field>
  );
}
