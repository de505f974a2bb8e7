"""Where things are on a government page: data only, no logic (in the style of
trafilatura's xpaths module). `readers.html_page` and `readers.text_page` read these.

Labels are written as the site writes them; the readers allow spaces inside a label
("索 引 号") and either colon (":" or "："), so the variants here are the bare words.
"""

from __future__ import annotations

# label as printed on the page -> canonical Record field.
# Labels may also be written "[发文机构]" (www.beijing.gov.cn).
# 主题词 is a keyword list, not a classification: it maps to "" (recognised so that its
# value is not mistaken for the value of the label before it, but not stored).
LABELS: dict[str, str] = {
    "索引号": "index_no",
    "信息索引号": "index_no",
    "主题分类": "classification",
    "信息分类": "classification",
    "分类": "classification",
    "主题": "classification",
    "所属主题": "classification",
    "法定主动公开分类": "classification",
    "组配分类": "",
    # The other issuers of a joint document (www.beijing.gov.cn's [联合发文单位]): they
    # join the 发文机构 in the agency.
    "联合发文单位": "co_agency",
    "文件来源": "",
    "生效日期": "",
    "信息名称": "title",
    "内容描述": "",
    "内容概览": "",
    "发布者": "agency",
    "主题词": "",
    "关键词": "",
    "发布机构": "agency",
    "发文机关": "agency",
    "发文单位": "agency",
    "发布单位": "agency",
    "发文机构": "agency",
    "制发单位": "agency",
    "信息来源": "agency",
    "来源": "agency",
    "内容来源": "agency",  # under a 政策问答 page's answers
    "成文日期": "written_date",
    "成文时间": "written_date",
    "印发日期": "written_date",
    "发文日期": "written_date",
    "签发日期": "written_date",
    "生成日期": "pub_date",
    "发布日期": "pub_date",
    "发布时间": "pub_date",
    "公开日期": "pub_date",
    "公开时间": "pub_date",
    "上网日期": "pub_date",
    "日期": "pub_date",
    "时间": "pub_date",  # a dateline ("来源：XX 时间：2014-02-25 00:00")
    "文号": "doc_no",
    "发文字号": "doc_no",
    "发文文号": "doc_no",
    "文件编号": "doc_no",
    "有效性": "validity",
    "时效性": "validity",
    "有效性说明": "validity",
    "文件有效性": "validity",
    "时效": "validity",
    "是否有效": "validity",
    "索取号": "index_no",
    "公开范围": "scope",
    "公开方式": "publish_mode",
    "公开形式": "publish_mode",
    # The document's title printed as a metadata row (www.gov.cn's 标　　题, provincial
    # platforms' 名 称 / 文件名称, a crawler's "标题:" header line).
    "标题": "title",
    "文件名称": "title",
    "名称": "title",
    # A crawler's header lines: where the page came from.
    "原文链接": "url",
    "原文地址": "url",
    "页面地址": "url",
    # Recognised so that their values end the previous label's value; not stored.
    "规范性文件编号": "",  # a registration number of 规范性文件, not the 文号
    "登记号": "",
    "栏目": "",
    "所属栏目": "",
    "本地目录": "",
    "浏览次数": "",
    "访问量": "",
    "浏览量": "",
    "阅读": "",
    "阅读次数": "",
    "阅读人次": "",
    "点击数": "",
    "点击量": "",
    "字号": "",
    "实施日期": "",
    "废止日期": "",
    "作者": "",
    "责任编辑": "",
}

# Two dates, two facts: 成文日期 (written_date) is the day the document was signed, 发布日期
# (pub_date) the day it went online. Journalists need both; the year facet is on pub_date.
# Within each kind the first label present wins. 生成日期 is the day the disclosure record
# was made, nearly always the publication; a bare 日期 is the weakest evidence.
WRITTEN_DATE_LABEL_PRIORITY = ("成文日期", "成文时间", "签发日期", "印发日期", "发文日期")
PUB_DATE_LABEL_PRIORITY = ("发布日期", "公开日期", "发布时间", "公开时间", "上网日期", "生成日期",
                           "日期", "时间")

# A line that closes a text rendering's header block ("==== 正文 ====", "-----").
HEADER_RULE_PATTERN = r"^[=\-─━_*]{5,}\s*(?:正文|内容|全文)?\s*[=\-─━_*]*$"

# Agency labels in order of trust: the issuing body over a "source" credit line.
AGENCY_LABEL_PRIORITY = ("发文机关", "制发单位", "发布机构", "发文单位", "发文机构", "发布单位",
                         "信息来源", "来源", "内容来源", "发布者")

# Content area of an article, most specific first; the first that holds real text wins.
CONTENT_SELECTORS = (
    "#zoom", ".zoom", "#UCAP-CONTENT", ".TRS_Editor", ".TRS_UEDITOR", "#BodyLabel",
    ".view.TRS_UEDITOR", "#js_content", ".article-content", ".article_content",
    ".articleContent", ".art_content", ".art-content", "#art_content", ".arc_content",
    ".news_content", ".news-content", "#news_content", ".content_text", "#content_text",
    ".detail-content", ".detail_content", ".details-content", ".xl-content", ".xlcontent",
    ".xxgk_content", ".xxgk-content", ".gkxl_content", ".contentText", "#contentText",
    ".pages_content", ".wzcon", ".main-txt", ".article", "#article", ".content", "#content",
    "article",
)

# The document's own heading, most specific first.
TITLE_SELECTORS = (
    "#ivs_title", ".article-title", ".article_title", ".articleTitle", ".art_title",
    ".news_title", ".detail-title", ".detail_title", ".xl-title", ".xxgk_title",
    ".content_title", ".title_cen", ".sp_title", ".tit", ".title", "h1", "h2", "h3",
)
# Page-level meta tags some CMSs (TRS, Hanweb) fill with the article's title.
TITLE_META = ("ArticleTitle", "articletitle", "title", "og:title")
DATE_META = ("PubDate", "pubdate", "firstpublishedtime", "publishdate", "article:published_time")
AGENCY_META = ("ContentSource", "contentsource", "source")
# The site's name, which many CMSs (TRS, Hanweb) set to the owning agency's name.
SITE_META = ("SiteName", "sitename", "og:site_name")
URL_META = ("og:url",)

# Elements that are never part of a document's text.
BOILERPLATE_TAGS = ("script", "style", "noscript", "iframe", "nav", "footer", "header",
                    "form", "select", "button", "input", "textarea", "svg", "object")
BOILERPLATE_SELECTORS = (
    ".nav", "#nav", ".menu", ".breadcrumb", ".crumb", ".crumbs", ".position", ".location",
    ".dqwz", ".weizhi", ".share", ".bdsharebuttonbox", ".fenxiang", ".jiathis_style",
    ".print", ".dyb", ".close", ".related", ".xglj", ".footer", "#footer", ".foot", "#foot",
    ".bottom", ".header", "#header", ".top", ".qrcode", ".ewm", ".erweima", ".fontsize",
    ".font", ".zihao",
)
# Lines that are page furniture, not document text.  Matched against whole short lines
# (see BOILERPLATE_MAX_LEN) so a sentence of the document mentioning 版权所有 survives.
BOILERPLATE_LINE_PATTERNS = (
    r"^(?:【\s*)?(?:打印本页|打印|关闭窗口|关闭|返回顶部|返回|收藏|保存|分享|打印文章)(?:\s*】)?$",
    r"扫一扫|手机扫码|在手机上查看|分享到|分享至|转发到|微信扫一扫|用手机扫描",
    r"^【?\s*字[体号]\s*[:：]?", r"^字号\s*[:：]?\s*[大中小]", r"^[【\[]?\s*[大中小]\s*[】\]]?$",
    r"^(?:主办单位|承办单位|主办|承办|协办|技术支持|维护单位|运维单位)\s*[:：]",
    r"版权所有|ICP备|ICP证|网站标识码|公网安备|网站地图|关于我们|联系我们|网站声明|隐私声明",
    r"^相关链接|^相关文章|^相关阅读|^相关稿件|^上一篇|^下一篇|^上一条|^下一条",
    r"^(?:浏览量|浏览次数|阅读次数|访问量|点击数|访问次数)\s*[:：]",
    r"^当前位置|^您当前的位置|^您现在的位置|^首页\s*[>＞»]",
    r"^(?:微信|微博|繁体字|简体|无障碍|English|登录|注册|长者模式|适老化)$",
    r"^(?:视力保护色|【?我要纠错】?|我要纠错|分享|打印|收藏)$",
    r"^【?\s*(?:打印\s*关闭|关闭当前页面|打印本页|关闭本页|关闭窗口)\s*】?$",
    r"^(?:下载本信息公开文件|分享\s*[:：]|【\s*打印\s*】|【\s*关闭\s*】)",
    # A line made only of toolbar words ("公报PDF PDF格式下载 收藏 取消收藏 打印").
    r"^(?:(?:公报PDF|PDF格式下载|PDF下载|收藏|取消收藏|打印|分享|纠错|关闭|X|返回|评价|建议"
    r"|\[返回上一页\]|\[\s*打印本页\s*\]|\[\s*关闭窗口\s*\])\s*)+$",
)
# Furniture run into the first or last line of a flattened text (a crawler's rendering
# of a page as one line): a dateline, a credit, share and print links. Stripped from the
# start of the first line and the end of the last one, repeatedly.
INLINE_LEAD_FURNITURE = (
    r"^(?:发布时间|时间|日期|来源|信息来源|作者|浏览次数|点击数|阅读次数)\s*[:：]\s*"
    r"(?:(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
    r"|[^\s:：]{1,30})\s+",
    r"^(?:微信|微博|QQ空间|分享到?[:：]?|打印|收藏|字号[:：]?|[大中小]|【[^】]{0,6}】|全真版|文字版"
    r"|文件下载|相关链接[:：]?|-->)\s+",
    # A style sheet's text that the rendering kept ("@font-face { … } p.MsoNormal { … }").
    r"^(?:<!--\s*)?(?:(?:@font-face|@page|[A-Za-z][\w-]*(?:[.#][\w-]+)*(?:\s*,\s*[A-Za-z.#][\w.#-]*)*)"
    r"\s*\{[^{}]*\}\s*)+(?:-->)?\s*",
)
INLINE_TAIL_FURNITURE = (
    r"\s+(?:附件下载|相关附件)(?:\s+\S+\.(?:pdf|docx?|wps|xlsx?|ofd|zip|rar))*$",
    r"\s+(?:打印本页|打印|关闭窗口|关闭|返回顶部|【[^】]{0,6}】)$",
    r"\s+(?:来源|信息来源)\s*[:：]\s*[^\s:：]{1,30}$",
)
# A short line that starts the related-links block after the document: the body ends
# there ("相关链接：", "相关稿件", "政策解读：" followed by links to other pages).
BODY_END_PATTERN = (r"^(?:相关链接|相关文章|相关阅读|相关稿件|相关解读|相关文件|文件链接|政策解读|相关政策|政策原文)"
                    r"\s*(?:[:：].*)?$")
# Footer lines run long (several credits on one line), so these match lines of any length
# up to FOOTER_MAX_LEN.
FOOTER_LINE_PATTERNS = (
    r"版权所有|ICP备|网站标识码|网站识别码|公网安备|主办单位\s*[:：]|承办单位\s*[:：]",
)
FOOTER_MAX_LEN = 300
BOILERPLATE_MAX_LEN = 80

# Site names appended to <title>: "标题_广州市人民政府", "标题 - 南京市房产局".
TITLE_SUFFIX_PATTERNS = (
    r"\s*[_|｜\-—–]+\s*[^_|｜\-—–]*(?:人民政府|政府网|门户网站|政府|局|委员会|中心|办公室|"
    r"办公厅|网|厅|委|署|会|院|部)[^_|｜\-—–]*$",
)

# Attachment links: by extension of the href (query strings allowed).
ATTACHMENT_EXTENSIONS = ("pdf", "doc", "docx", "xls", "xlsx", "wps", "et", "zip", "rar", "7z",
                         "ofd", "ppt", "pptx", "txt", "csv", "tif", "ceb")

# Word's "Save as HTML" leaves these in the page.
WORD_HTML_MARKERS = ("urn:schemas-microsoft-com:office:word", "mso-", "<w:WordDocument",
                     "Microsoft Word", "content=\"Word.Document\"")

# Boilerplate strings that mark an error page ("this item does not exist").
ERROR_PAGE_TEXTS = ("该信息不存在", "页面不存在", "您访问的页面不存在", "404 Not Found",
                    "信息已删除", "文章不存在", "访问的页面已删除")
