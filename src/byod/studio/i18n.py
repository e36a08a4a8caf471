"""The studio's words in English and Korean; ``t(lang, key)`` picks one (English if missing)."""

from __future__ import annotations

__all__ = ["LANGS", "STRINGS", "t"]

LANGS = ("en", "ko")

STRINGS: dict[str, dict[str, str]] = {
    "title": {"en": "byod Studio", "ko": "byod 스튜디오"},
    "nav.data": {"en": "1. Bring data", "ko": "1. 데이터 가져오기"},
    "nav.build": {"en": "2. Build users", "ko": "2. 사용자 임베딩 만들기"},
    "nav.tasks": {"en": "3. Solve tasks", "ko": "3. 과제 풀기"},
    "nav.deploy": {"en": "4. Deploy", "ko": "4. 배포"},
    "lang.switch": {"en": "한국어", "ko": "English"},
    "data.pick": {"en": "Pick a log file", "ko": "로그 파일 선택"},
    "data.upload": {
        "en": "Upload a file (CSV, TSV, JSONL, Parquet)",
        "ko": "파일 올리기 (CSV, TSV, JSONL, Parquet)",
    },
    "data.upload.go": {"en": "Upload and preview", "ko": "올리고 미리 보기"},
    "data.path": {"en": "…or a path on this machine", "ko": "…또는 이 컴퓨터의 경로"},
    "data.path.go": {"en": "Preview", "ko": "미리 보기"},
    "data.preview": {"en": "First rows of", "ko": "처음 몇 행:"},
    "data.rows": {"en": "rows read", "ko": "행 읽음"},
    "data.map": {"en": "Map the columns onto events", "ko": "열을 이벤트에 연결"},
    "data.user": {"en": "User column", "ko": "사용자 열"},
    "data.time": {"en": "Time column", "ko": "시간 열"},
    "data.time_format": {"en": "Time format", "ko": "시간 형식"},
    "data.time_custom": {"en": "…or a strftime pattern", "ko": "…또는 strftime 패턴"},
    "data.timezone": {"en": "Time zone of naive times", "ko": "시간대 (시간대 없는 값)"},
    "data.service": {"en": "Service name (constant)", "ko": "서비스 이름 (고정값)"},
    "data.service_column": {"en": "…or a service column", "ko": "…또는 서비스 열"},
    "data.item": {"en": "Item column (optional)", "ko": "아이템 열 (선택)"},
    "data.text": {"en": "Event text template", "ko": "이벤트 텍스트 템플릿"},
    "data.text.help": {
        "en": "Column names in braces, e.g. {title} | {category}",
        "ko": "중괄호 안에 열 이름, 예: {title} | {category}",
    },
    "data.text.preview": {"en": "Event texts of the first rows", "ko": "처음 행들의 이벤트 텍스트"},
    "data.none": {"en": "(none)", "ko": "(없음)"},
    "data.validate": {"en": "Add to the mapping and validate", "ko": "매핑에 추가하고 검증"},
    "data.sources": {"en": "Mapped sources", "ko": "매핑된 소스"},
    "data.no_sources": {"en": "No source mapped yet.", "ko": "아직 매핑된 소스가 없습니다."},
    "data.remove": {"en": "Remove", "ko": "삭제"},
    "data.result": {"en": "Validation", "ko": "검증 결과"},
    "data.read": {"en": "read", "ko": "읽음"},
    "data.accepted": {"en": "accepted", "ko": "수락"},
    "data.rejected": {"en": "rejected", "ko": "거부"},
    "data.duplicates": {"en": "duplicates", "ko": "중복"},
    "data.users": {"en": "users", "ko": "사용자"},
    "data.add_up": {
        "en": "read = accepted + rejected + duplicates",
        "ko": "읽음 = 수락 + 거부 + 중복",
    },
    "data.reasons": {"en": "Rejected rows by reason", "ko": "거부 사유별 행 수"},
    "data.rejects": {"en": "First rejected rows", "ko": "처음 거부된 행"},
    "data.saved": {"en": "Mapping saved as", "ko": "매핑 저장 위치"},
    "data.cli": {"en": "The same from a terminal", "ko": "터미널에서 같은 작업"},
    "build.settings": {"en": "Build user embeddings", "ko": "사용자 임베딩 만들기"},
    "build.needs_data": {
        "en": "Validate a mapping first (step 1).",
        "ko": "먼저 매핑을 검증하세요 (1단계).",
    },
    "build.backbone": {"en": "Text backbone", "ko": "텍스트 백본"},
    "build.objective": {"en": "Objective", "ko": "학습 목표"},
    "build.epochs": {"en": "Epochs", "ko": "에폭"},
    "build.batch": {"en": "Batch size", "ko": "배치 크기"},
    "build.patience": {"en": "Early-stopping patience (epochs)", "ko": "조기 종료 인내 (에폭)"},
    "build.max_events": {"en": "Events per history", "ko": "히스토리당 이벤트 수"},
    "build.start": {
        "en": "Start serialize → pretrain → embed",
        "ko": "직렬화 → 사전학습 → 임베딩 시작",
    },
    "jobs.title": {"en": "Jobs", "ko": "작업"},
    "jobs.none": {"en": "No job yet.", "ko": "아직 작업이 없습니다."},
    "jobs.cancel": {"en": "Cancel", "ko": "취소"},
    "jobs.stage": {"en": "Stage", "ko": "단계"},
    "jobs.rate": {"en": "Rate", "ko": "속도"},
    "jobs.eta": {"en": "ETA", "ko": "남은 시간"},
    "jobs.error": {"en": "Error", "ko": "오류"},
    "jobs.outputs": {"en": "Written so far", "ko": "지금까지 쓴 파일"},
    "jobs.curve": {"en": "Training curve (loss per epoch)", "ko": "학습 곡선 (에폭별 손실)"},
    "status.queued": {"en": "queued", "ko": "대기"},
    "status.running": {"en": "running", "ko": "실행 중"},
    "status.done": {"en": "done", "ko": "완료"},
    "status.failed": {"en": "failed", "ko": "실패"},
    "status.cancelled": {"en": "cancelled", "ko": "취소됨"},
    "tasks.needs_build": {
        "en": "Build user embeddings first (step 2).",
        "ko": "먼저 사용자 임베딩을 만드세요 (2단계).",
    },
    "tasks.labels": {
        "en": "Upload a labels file (user id, label)",
        "ko": "레이블 파일 올리기 (사용자 ID, 레이블)",
    },
    "tasks.upload": {"en": "Upload labels", "ko": "레이블 올리기"},
    "tasks.table": {"en": "User embeddings", "ko": "사용자 임베딩"},
    "tasks.user_column": {"en": "User id column", "ko": "사용자 ID 열"},
    "tasks.label_column": {"en": "Label column", "ko": "레이블 열"},
    "tasks.name": {"en": "Task name", "ko": "과제 이름"},
    "tasks.train": {"en": "Train a classification head", "ko": "분류 헤드 학습"},
    "tasks.metrics": {
        "en": "Held-out metrics against the baselines (mean ± std over splits)",
        "ko": "기준선과 비교한 검증 지표 (분할별 평균 ± 표준편차)",
    },
    "tasks.source": {"en": "features", "ko": "특징"},
    "tasks.metric": {"en": "metric", "ko": "지표"},
    "deploy.build": {"en": "Build a deployment", "ko": "배포본 만들기"},
    "deploy.needs": {
        "en": "Train a head first (step 3), or deploy the embeddings alone.",
        "ko": "먼저 헤드를 학습하세요 (3단계). 임베딩만 배포할 수도 있습니다.",
    },
    "deploy.heads": {"en": "Heads to include", "ko": "포함할 헤드"},
    "deploy.go": {"en": "Build deployment", "ko": "배포본 만들기"},
    "deploy.promote": {"en": "Promote to the service", "ko": "서비스에 반영"},
    "deploy.serving": {"en": "Serving now", "ko": "현재 서비스 중"},
    "deploy.nothing": {"en": "Nothing is served yet.", "ko": "아직 서비스 중인 것이 없습니다."},
    "deploy.endpoint": {"en": "Endpoint", "ko": "엔드포인트"},
    "deploy.curl": {"en": "Try it", "ko": "실행해 보기"},
    "keys.title": {"en": "API keys", "ko": "API 키"},
    "keys.name": {"en": "Key name", "ko": "키 이름"},
    "keys.scope": {"en": "Scope", "ko": "권한"},
    "keys.create": {"en": "Create key", "ko": "키 만들기"},
    "keys.once": {
        "en": "Copy this key now; it is not shown again:",
        "ko": "지금 이 키를 복사하세요. 다시 보여주지 않습니다:",
    },
    "keys.none": {
        "en": "No key yet: reads are open on loopback, admin calls are refused.",
        "ko": "키가 없습니다: 루프백에서 읽기는 열려 있고 관리자 호출은 거부됩니다.",
    },
    "keys.revoke": {"en": "Revoke", "ko": "폐기"},
    "nav.text": {"en": "5. Text classifier", "ko": "5. 텍스트 분류기"},
    "text.intro": {
        "en": "Name the labels, give a few examples of each, try a sentence on the local LLM, "
        "then train a classifier and deploy it.",
        "ko": "레이블 이름을 정하고 레이블마다 예시 몇 개를 넣은 뒤, 로컬 LLM으로 문장을 시험하고 "
        "분류기를 학습해 배포하세요.",
    },
    "text.task": {"en": "Labels and examples", "ko": "레이블과 예시"},
    "text.upload": {
        "en": "Upload examples (CSV with text, label columns), or type them below",
        "ko": "예시 파일 올리기 (text, label 열이 있는 CSV) 또는 아래에 직접 입력",
    },
    "text.examples.help": {
        "en": "One example per line",
        "ko": "한 줄에 예시 하나",
    },
    "text.label": {"en": "Label", "ko": "레이블"},
    "text.text": {"en": "Text", "ko": "텍스트"},
    "text.upload.go": {"en": "Load examples", "ko": "예시 불러오기"},
    "text.loaded": {"en": "Examples loaded from", "ko": "예시를 불러온 파일:"},
    "text.text_type": {"en": "What a text is called", "ko": "텍스트를 부르는 이름"},
    "text.label_type": {"en": "What a label is called", "ko": "레이블을 부르는 이름"},
    "text.template": {"en": "Prompt template", "ko": "프롬프트 템플릿"},
    "text.labels": {"en": "Labels", "ko": "레이블"},
    "text.labels.help": {
        "en": "Separated by commas, e.g. 긍정, 부정; one example box per label",
        "ko": "쉼표로 구분, 예: 긍정, 부정; 레이블마다 예시 칸이 하나씩 생깁니다",
    },
    "text.examples_of": {"en": "Examples of", "ko": "예시:"},
    "text.try": {"en": "Try a sentence", "ko": "문장 시험하기"},
    "text.sentence": {"en": "Test sentence", "ko": "시험 문장"},
    "text.llm": {"en": "Local LLM", "ko": "로컬 LLM"},
    "text.calibrate": {"en": "Contextual calibration", "ko": "문맥 보정"},
    "text.try.go": {"en": "Show the prompt and soft labels", "ko": "프롬프트와 소프트 레이블 보기"},
    "text.busy": {
        "en": "Asking the LLM (the first time loads it)…",
        "ko": "LLM에 묻는 중 (처음에는 모델을 불러옵니다)…",
    },
    "text.soft": {"en": "The LLM's soft labels", "ko": "LLM의 소프트 레이블"},
    "text.likeliest": {"en": "Likeliest", "ko": "가장 가능성 높은 레이블"},
    "text.shots": {"en": "examples in the prompt", "ko": "개 예시가 프롬프트에 포함"},
    "text.calibrated": {"en": "calibrated", "ko": "보정됨"},
    "text.prompt": {"en": "The prompt byod builds", "ko": "byod가 만든 프롬프트"},
    "text.continuations": {
        "en": "Scored after it, one per label",
        "ko": "그 뒤에 레이블마다 점수를 매기는 문자열",
    },
    "text.train": {"en": "Train a classifier", "ko": "분류기 학습"},
    "text.name": {"en": "Classifier name", "ko": "분류기 이름"},
    "text.teacher": {"en": "LLM teacher", "ko": "LLM 교사"},
    "text.no_teacher": {"en": "none (labels only)", "ko": "없음 (레이블만)"},
    "text.train.go": {"en": "Train HyperMatch classifier", "ko": "HyperMatch 분류기 학습"},
    "text.needs_build": {
        "en": "No user table yet: a classifier is deployed alone (text only); build user "
        "embeddings (step 2) to serve it beside them.",
        "ko": "아직 사용자 테이블이 없습니다: 분류기만 배포됩니다 (텍스트 전용). 사용자와 함께 "
        "배포하려면 먼저 사용자 임베딩을 만드세요 (2단계).",
    },
    "text.accuracy": {"en": "Held-out accuracy", "ko": "검증 정확도"},
    "text.held": {"en": "held out", "ko": "개 검증"},
    "text.trained": {"en": "trained on", "ko": "개 학습"},
    "text.prediction": {"en": "prediction", "ko": "예측"},
    "text.used": {"en": "used", "ko": "사용"},
    "text.not_used": {"en": "not used", "ko": "사용 안 함"},
    "text.augment": {"en": "LLM-written examples", "ko": "LLM이 쓴 예시"},
    "text.requested": {"en": "requested", "ko": "요청"},
    "text.kept": {"en": "kept", "ko": "유지"},
    "text.dropped": {"en": "dropped", "ko": "버림"},
    "text.duplicates": {"en": "duplicates", "ko": "중복"},
    "text.with_users": {"en": "with the users of", "ko": "함께 배포할 사용자 테이블"},
    "tasks.map": {"en": "Embedding map", "ko": "임베딩 지도"},
    "tasks.map.busy": {"en": "Drawing the map…", "ko": "지도를 그리는 중…"},
    "tasks.map.colour": {"en": "colour = k-means cluster", "ko": "색 = k-평균 군집"},
    "tasks.map.hover": {
        "en": "Hover over a point (or tab to it) to see the user's recent events.",
        "ko": "점 위에 마우스를 올리거나 Tab으로 이동하면 사용자의 최근 이벤트가 보입니다.",
    },
    "tasks.recommend": {"en": "Next-item recommendation", "ko": "다음 아이템 추천"},
    "tasks.recommend.go": {
        "en": "Rank next items against the baselines",
        "ko": "기준선과 비교해 다음 아이템 순위 매기기",
    },
    "tasks.ranking": {
        "en": "Next-item ranking on the test targets (all users)",
        "ko": "테스트 대상의 다음 아이템 순위 (전체 사용자)",
    },
    "deploy.next_item": {
        "en": "Next-item recommendation (item index and head from the events' items)",
        "ko": "다음 아이템 추천 (이벤트의 아이템으로 인덱스와 헤드 생성)",
    },
    "text.generate": {"en": "Generate examples with the LLM", "ko": "LLM으로 예시 만들기"},
    "text.gen_n": {"en": "How many", "ko": "개수"},
    "text.generate.go": {"en": "Generate (a job)", "ko": "만들기 (작업)"},
    "text.accept": {"en": "Accept", "ko": "채택"},
    "text.accept.go": {
        "en": "Add the ticked examples (the rest are rejected)",
        "ko": "선택한 예시 추가 (나머지는 버림)",
    },
    "text.added": {"en": "Examples added:", "ko": "추가된 예시:"},
    "deploy.texts": {"en": "Text classifiers to include", "ko": "포함할 텍스트 분류기"},
    "text.only": {"en": "no users (text classifiers only)", "ko": "사용자 없음 (텍스트 분류기만)"},
    "text.llm.help": {
        "en": "A packaged name (smollm2: English; qwen2.5-0.5b, qwen2.5-1.5b: Korean + English), "
        "a .gguf file or a transformers folder.",
        "ko": "패키지 이름 (smollm2: 영어, qwen2.5-0.5b, qwen2.5-1.5b: 한국어 + 영어), "
        ".gguf 파일 또는 transformers 폴더.",
    },
    "text.zero_n": {
        "en": "…or from the label names alone: examples per label",
        "ko": "…또는 레이블 이름만으로: 레이블당 예시 수",
    },
    "text.zero.go": {
        "en": "Write examples from the label names (zero data, a job)",
        "ko": "레이블 이름으로 예시 쓰기 (데이터 없이, 작업)",
    },
    "text.audit": {"en": "Audit the labels", "ko": "레이블 검수"},
    "text.audit.help": {
        "en": "Checkers trained on the other examples vote on each label, round after round "
        "(PICO, as byod labels audit does); suggested corrections are listed on the job's card "
        "to accept or reject one by one. Accepted ones are written to the labels file.",
        "ko": "나머지 예시로 학습한 검사 모델들이 라운드마다 각 레이블에 투표합니다 (PICO, "
        "byod labels audit과 같음). 제안된 수정은 작업 카드에서 하나씩 채택하거나 거절합니다. "
        "채택한 수정은 레이블 파일에 기록됩니다.",
    },
    "text.audit.backbone": {
        "en": "Sentence encoder of the checkers",
        "ko": "검사 모델의 문장 인코더",
    },
    "text.audit.go": {"en": "Audit the labels (a job)", "ko": "레이블 검수 (작업)"},
    "audit.audited": {"en": "examples audited", "ko": "개 예시 검수"},
    "audit.suggested": {"en": "suggested", "ko": "제안"},
    "audit.accepted": {"en": "accepted", "ko": "채택"},
    "audit.rejected": {"en": "rejected", "ko": "거절"},
    "audit.pending": {"en": "pending", "ko": "대기"},
    "audit.given": {"en": "Given label", "ko": "주어진 레이블"},
    "audit.suggestion": {"en": "Suggested label", "ko": "제안 레이블"},
    "audit.confidence": {"en": "Confidence", "ko": "확신도"},
    "audit.decision": {"en": "Decision", "ko": "결정"},
    "audit.accept": {"en": "Accept", "ko": "채택"},
    "audit.reject": {"en": "Reject", "ko": "거절"},
    "audit.none": {
        "en": "No label looks wrong: there is no correction to suggest.",
        "ko": "틀려 보이는 레이블이 없습니다: 제안할 수정이 없습니다.",
    },
    "audit.download": {
        "en": "Download the labels file (with the accepted corrections)",
        "ko": "레이블 파일 내려받기 (채택한 수정 포함)",
    },
    "audit.report": {"en": "The audit's full report", "ko": "검수 전체 보고서"},
    "text.pl": {
        "en": "Pseudo-label unlabelled sentences",
        "ko": "레이블 없는 문장에 의사 레이블 달기",
    },
    "text.pl.help": {
        "en": "The LLM above labels each sentence, with the examples above in its prompt (as byod "
        "text pseudolabel --examples). A soft label is kept when its confidence reaches the "
        "threshold; the card shows the kept and dropped counts and serves the kept rows.",
        "ko": "위의 LLM이 위의 예시를 프롬프트에 넣고 각 문장에 레이블을 답니다 (byod text "
        "pseudolabel --examples와 같음). 확신도가 기준 이상인 소프트 레이블만 유지하며, 작업 "
        "카드에 유지/버림 개수가 나오고 유지된 행을 내려받을 수 있습니다.",
    },
    "text.pl.file": {"en": "A file with a text column", "ko": "text 열이 있는 파일"},
    "text.pl.texts": {"en": "…or sentences, one per line", "ko": "…또는 문장 (한 줄에 하나)"},
    "text.pl.threshold": {"en": "Confidence threshold", "ko": "확신도 기준"},
    "text.pl.go": {"en": "Pseudo-label (a job)", "ko": "의사 레이블 달기 (작업)"},
    "pl.total": {"en": "labelled", "ko": "개 레이블됨"},
    "pl.apply": {"en": "Apply", "ko": "적용"},
    "pl.download_kept": {"en": "Download the kept rows (CSV)", "ko": "유지된 행 내려받기 (CSV)"},
    "pl.download_all": {"en": "Download every row (CSV)", "ko": "모든 행 내려받기 (CSV)"},
    "error": {"en": "Error", "ko": "오류"},
}


def t(lang: str, key: str) -> str:
    """The text of ``key`` in ``lang`` (English when missing; the key itself as a last resort)."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]
