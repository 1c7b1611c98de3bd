export {
  type CheckPosture,
  computePosture,
  GRADE_BANDS,
  type Grade,
  gradeFor,
  POSTURE_WEIGHTS,
  type Posture,
  type PostureDeduction,
  SCORE_CAPS,
  SCORED_CHECKS,
  type ScoredCheck,
  SEVERITY_POINTS,
} from './posture.ts';
