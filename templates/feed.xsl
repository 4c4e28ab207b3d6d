<?xml version="1.0" encoding="UTF-8"?>
<!--
  What a browser shows when someone opens an Atom or RSS feed of feedsvc (issue 17 item 4): the
  feed's title, what a feed is and how to follow it (a feed reader, or email on the website), and
  its entries with links. Feed readers ignore it. XSLT 1.0, as browsers (libxslt) run it.
  Only text is copied out of the feed, never markup: a release's text cannot become HTML here.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    exclude-result-prefixes="atom dc">
  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:template match="/">
    <xsl:choose>
      <xsl:when test="atom:feed">
        <xsl:call-template name="page">
          <xsl:with-param name="title" select="string(atom:feed/atom:title)"/>
          <xsl:with-param name="subtitle" select="string(atom:feed/atom:subtitle)"/>
          <xsl:with-param name="lang" select="string(atom:feed/@xml:lang)"/>
          <xsl:with-param name="self" select="string(atom:feed/atom:link[@rel='self']/@href)"/>
          <xsl:with-param name="site" select="string(atom:feed/atom:link[@rel='alternate']/@href)"/>
          <xsl:with-param name="format" select="'Atom'"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise>
        <xsl:call-template name="page">
          <xsl:with-param name="title" select="string(rss/channel/title)"/>
          <xsl:with-param name="subtitle" select="string(rss/channel/description)"/>
          <xsl:with-param name="lang" select="string(rss/channel/language)"/>
          <xsl:with-param name="self" select="string(rss/channel/atom:link[@rel='self']/@href)"/>
          <xsl:with-param name="site" select="string(rss/channel/link)"/>
          <xsl:with-param name="format" select="'RSS'"/>
        </xsl:call-template>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="page">
    <xsl:param name="title"/>
    <xsl:param name="subtitle"/>
    <xsl:param name="lang"/>
    <xsl:param name="self"/>
    <xsl:param name="site"/>
    <xsl:param name="format"/>
    <html lang="{$lang}">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (<xsl:value-of select="$format"/> feed)</title>
        <style>
          :root { color-scheme: light dark; --fg: #1d1d1f; --muted: #5f6368; --bg: #fff; --line: #e3e3e3; --accent: #0b57d0; --box: #eef3fd; }
          @media (prefers-color-scheme: dark) { :root { --fg: #e8eaed; --muted: #9aa0a6; --bg: #202124; --line: #3c4043; --accent: #8ab4f8; --box: #28344a; } }
          * { box-sizing: border-box; }
          body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); overflow-wrap: anywhere; }
          main { max-width: 46rem; margin: 0 auto; padding: 0 1rem 2rem; }
          a { color: var(--accent); }
          h1 { font-size: 1.6rem; line-height: 1.25; margin: 1.25rem 0 .25rem; }
          .about { background: var(--box); border-radius: .5rem; padding: .75rem 1rem; margin: 1rem 0; }
          .about h2 { font-size: 1.1rem; margin: .25rem 0 .5rem; }
          code { display: block; padding: .4rem .6rem; margin: .25rem 0 .5rem; border: 1px solid var(--line); border-radius: .35rem; background: var(--bg); user-select: all; }
          .meta { color: var(--muted); font-size: .9rem; }
          ul.entries { list-style: none; padding: 0; margin: 0; }
          ul.entries li { padding: .75rem 0; border-bottom: 1px solid var(--line); }
          ul.entries a { font-weight: 600; text-decoration: none; }
          ul.entries p { margin: .25rem 0 0; }
        </style>
      </head>
      <body>
        <main>
          <h1 dir="auto"><xsl:value-of select="$title"/></h1>
          <p class="meta" dir="auto"><xsl:value-of select="$subtitle"/></p>
          <section class="about" aria-labelledby="about-feed">
            <h2 id="about-feed">This is a news feed: follow it in a feed reader</h2>
            <p>A feed lists the latest press releases in a form that feed reader apps check for you, so
              new releases come to you without visiting the website. This page shows what the feed holds.</p>
            <p><strong>To subscribe</strong>, copy this address into your feed reader (for example
              NetNewsWire, Feedly, Inoreader, Thunderbird or Outlook: “Add feed” or “Subscribe”):</p>
            <code><xsl:value-of select="$self"/></code>
            <p><strong>Prefer email?</strong> Open <a href="{$site}">the website’s page for these press
              releases</a> and enter your address under “By email” to get them in a weekly or daily email.</p>
          </section>
          <h2>Latest press releases</h2>
          <ul class="entries">
            <xsl:apply-templates select="atom:feed/atom:entry | rss/channel/item"/>
          </ul>
          <xsl:if test="not(atom:feed/atom:entry | rss/channel/item)">
            <p>No press release yet.</p>
          </xsl:if>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <a dir="auto" href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a>
      <div class="meta">
        <xsl:choose>
          <xsl:when test="atom:published">Published <xsl:value-of select="substring(atom:published, 1, 10)"/></xsl:when>
          <xsl:otherwise>Added <xsl:value-of select="substring(atom:updated, 1, 10)"/></xsl:otherwise>
        </xsl:choose>
      </div>
      <p dir="auto"><xsl:value-of select="atom:summary"/></p>
    </li>
  </xsl:template>

  <!-- RSS title and description are HTML (escaped once by feedsvc): shown as the text they stand for. -->
  <xsl:template match="item">
    <li>
      <a dir="auto" href="{link}"><xsl:call-template name="unescape"><xsl:with-param name="text" select="title"/></xsl:call-template></a>
      <div class="meta"><xsl:value-of select="pubDate"/></div>
      <p dir="auto"><xsl:call-template name="unescape"><xsl:with-param name="text" select="description"/></xsl:call-template></p>
    </li>
  </xsl:template>

  <!-- html.escape(quote=False) undone: &lt; &gt; first, &amp; last. Still written out as text. -->
  <xsl:template name="unescape">
    <xsl:param name="text"/>
    <xsl:call-template name="replace">
      <xsl:with-param name="text">
        <xsl:call-template name="replace">
          <xsl:with-param name="text">
            <xsl:call-template name="replace">
              <xsl:with-param name="text" select="$text"/>
              <xsl:with-param name="from" select="'&amp;lt;'"/>
              <xsl:with-param name="to" select="'&lt;'"/>
            </xsl:call-template>
          </xsl:with-param>
          <xsl:with-param name="from" select="'&amp;gt;'"/>
          <xsl:with-param name="to" select="'&gt;'"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="from" select="'&amp;amp;'"/>
      <xsl:with-param name="to" select="'&amp;'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="replace">
    <xsl:param name="text"/>
    <xsl:param name="from"/>
    <xsl:param name="to"/>
    <xsl:choose>
      <xsl:when test="contains($text, $from)">
        <xsl:value-of select="substring-before($text, $from)"/>
        <xsl:value-of select="$to"/>
        <xsl:call-template name="replace">
          <xsl:with-param name="text" select="substring-after($text, $from)"/>
          <xsl:with-param name="from" select="$from"/>
          <xsl:with-param name="to" select="$to"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
