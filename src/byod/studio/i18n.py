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
    "error": {"en": "Error", "ko": "오류"},
}


def t(lang: str, key: str) -> str:
    """The text of ``key`` in ``lang`` (English when missing; the key itself as a last resort)."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]
