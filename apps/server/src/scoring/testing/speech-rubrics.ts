import type { TRubricInput } from '@parley/contracts';

/**
 * Rubrics for the four questions of `../shared/data/speech` (questions from its README). Written
 * as a recruiter would, before reading the recorded answers: the ideal answers are not the
 * `qN_good` transcripts. Answers are read from the data folder, never copied here.
 */
export const SPEECH_DATA_DIR = new URL('../../../../../../shared/data/speech/', import.meta.url);

export const SPEECH_QUESTIONS: Record<string, { question: string; rubric: TRubricInput }> = {
  q1: {
    question: 'Explain the difference between a process and a thread.',
    rubric: {
      version: 'speech-q1/1',
      criteria: [
        {
          name: 'Technical accuracy',
          anchors: {
            '1': 'Vague or wrong; cannot say how processes and threads differ.',
            '3': 'Says threads live inside a process but does not explain memory sharing or its cost.',
            '5': 'Explains separate address spaces versus shared memory, the cost of creating and switching, and the need for synchronization.',
          },
        },
        {
          name: 'Communication',
          anchors: {
            '1': 'Unsure, rambling, no clear statement.',
            '3': 'Understandable but incomplete or loosely organised.',
            '5': 'Clear, concise contrast with the reason behind each difference.',
          },
        },
      ],
      idealAnswer:
        'A process is an independent program in execution with its own address space, file handles and other resources, isolated by the operating system. A thread is a unit of execution inside a process; all threads of a process share its memory and resources. Creating a thread and context switching between threads is cheaper than for processes, but shared memory means threads must synchronize access with mutexes or locks to avoid race conditions, while processes communicate through IPC.',
      keyConcepts: [
        'own memory space',
        'threads share memory',
        'cheaper context switching',
        'synchronization or locks',
        'race conditions',
      ],
    },
  },
  q2: {
    question: 'Tell us about a project you led.',
    rubric: {
      version: 'speech-q2/1',
      criteria: [
        {
          name: 'Leadership',
          anchors: {
            '1': 'Has not led anything or only followed instructions from others.',
            '3': 'Took part in leading but the personal role and decisions are unclear.',
            '5': 'Clearly led a team, made the plan and the key decisions, and owned the result.',
          },
        },
        {
          name: 'Concrete outcome',
          anchors: {
            '1': 'No specific project, steps or result.',
            '3': 'Names a project but gives few specifics about how it went or how it ended.',
            '5': 'Describes a specific project with its approach, the risks handled and a measurable outcome.',
          },
        },
      ],
      idealAnswer:
        'I was the lead of a small engineering team that replaced our legacy billing system. I planned the migration in incremental phases, assigned the work, and reduced the risk by running the old and new systems side by side before switching over. We delivered on schedule without any outage, and I presented the results to management.',
      keyConcepts: ['led a team', 'planned the work in steps', 'reduced risk', 'specific outcome'],
    },
  },
  q3: {
    question: 'How would you find the most frequent words in a large text?',
    rubric: {
      version: 'speech-q3/1',
      criteria: [
        {
          name: 'Algorithm',
          anchors: {
            '1': 'No workable method, or repeated scans without a data structure.',
            '3': 'Counts words somehow but the data structure or ranking step is unclear.',
            '5': 'Counts occurrences in a hash table in one pass, then ranks by count with a sort or a heap.',
          },
        },
        {
          name: 'Complexity analysis',
          anchors: {
            '1': 'Says nothing about running time.',
            '3': 'Mentions efficiency without stating complexity.',
            '5': 'States linear time for counting and n log n (or n log k with a heap) for ranking.',
          },
        },
      ],
      idealAnswer:
        'Tokenize the text and count each word in a dictionary keyed by the word, which takes one linear pass. Then pick the most frequent entries: sort the distinct words by frequency in n log n, or keep a min-heap of size k for n log k. For text that does not fit in memory, split it into chunks, count each chunk and merge the counts.',
      keyConcepts: [
        'hash map or dictionary',
        'count word frequency',
        'sort by count or heap',
        'linear time',
        'n log n',
      ],
    },
  },
  q4: {
    question: 'Describe a disagreement with a colleague and how you handled it.',
    rubric: {
      version: 'speech-q4/1',
      criteria: [
        {
          name: 'Conflict handling',
          anchors: {
            '1': 'Avoids the conflict or blames the colleague.',
            '3': 'Resolves it but by authority or without understanding the other view.',
            '5': 'Listens to both views, weighs the tradeoffs openly and reaches an agreement verified with evidence.',
          },
        },
      ],
      idealAnswer:
        'A teammate and I disagreed on the architecture of a feature. I asked them to explain their reasoning, compared both options on their pros and cons, and proposed testing the riskiest assumption with a quick experiment. The result settled the question and we kept a good working relationship.',
      keyConcepts: ['listened to the other view', 'tradeoffs', 'compromise or agreement', 'tested with an experiment'],
    },
  },
};
